import CZlib

/// CRC-32 (IEEE 802.3, zlib's polynomial) through zlib itself: every journal, data and hint line
/// carries one, and reads check it, so it must be fast (zlib's is many times a byte-wise table).
enum CRC32 {
    static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        var value = UInt(crc)
        var offset = 0
        while offset < bytes.count {  // zlib takes a 32-bit length
            let chunk = min(bytes.count - offset, 1 << 30)
            value = CZlib.crc32(value, base.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(chunk))
            offset += chunk
        }
        return UInt32(truncatingIfNeeded: value)
    }

    static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 { checksum(UnsafeRawBufferPointer(bytes)) }

    static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { checksum($0) } }
}
