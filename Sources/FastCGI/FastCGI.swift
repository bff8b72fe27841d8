import CFastCGI
import HTTPTypes

#if canImport(Glibc)
    import Glibc
#endif

/// One FastCGI request as the worker sees it: the params copied out of libfcgi (its strings die at
/// the next `FCGX_Finish_r`) and a way to read the body and write the response.
public struct FastCGIParams: Sendable {
    public private(set) var values: [String: String]
    /// Params that arrived more than once: nginx sends a repeated request header as two params,
    /// and `FCGX_GetParam` would silently return only the first.
    public private(set) var repeatedNames: Set<String>

    public init(_ values: [String: String], repeatedNames: Set<String> = []) {
        self.values = values
        self.repeatedNames = repeatedNames
    }

    public subscript(name: String) -> String? { values[name] }
}

public enum AcceptOutcome: Equatable {
    case request
    /// A signal arrived while waiting (`FCGI_FAIL_ACCEPT_ON_INTR`): the caller checks its stop flag.
    case interrupted
    case failed(errno: Int32)
}

/// The libfcgi side of one worker process: one `FCGX_Request` reused for every request, accepted
/// from the listening socket the supervisor handed us as fd 0.
public final class FastCGIConnection {
    private let request: UnsafeMutablePointer<FCGX_Request>

    public init(listenSocket: Int32 = 0) {
        FCGX_Init()
        request = .allocate(capacity: 1)
        FCGX_InitRequest(request, listenSocket, FCGI_FAIL_ACCEPT_ON_INTR)
    }

    deinit {
        FCGX_Free(request, 1)
        request.deallocate()
    }

    public func accept() -> AcceptOutcome {
        let rc = FCGX_Accept_r(request)
        if rc >= 0 { return .request }
        if rc == -EINTR { return .interrupted }
        return .failed(errno: -rc)
    }

    /// Copies every param. nginx sends ~30; one dictionary build is cheaper than repeated
    /// `FCGX_GetParam` scans, and the strings must be copied before `finish()` anyway.
    public func params() -> FastCGIParams {
        var values: [String: String] = [:]
        var repeated: Set<String> = []
        values.reserveCapacity(40)
        guard var cursor = request.pointee.envp else { return FastCGIParams(values) }
        while let entry = cursor.pointee {
            if let equals = strchr(entry, Int32(UInt8(ascii: "="))) {
                let nameLength = entry.distance(to: equals)
                let name = entry.withMemoryRebound(to: UInt8.self, capacity: nameLength) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: nameLength), as: UTF8.self)
                }
                if values.updateValue(String(cString: equals + 1), forKey: name) != nil { repeated.insert(name) }
            }
            cursor += 1
        }
        return FastCGIParams(values, repeatedNames: repeated)
    }

    /// The values of a few params, read straight from libfcgi's array without copying the ~30
    /// others (a kept answer needs only these; see Server's `ResponseCache`). Each value is the
    /// first of its name; bit `i` of `repeated` is set when name `i` came more than once.
    public func params(named names: ParamNames) -> (values: [String?], repeated: UInt64) {
        var values = [String?](repeating: nil, count: names.count)
        var repeated: UInt64 = 0
        guard var cursor = request.pointee.envp else { return (values, repeated) }
        names.bytes.withUnsafeBufferPointer { bytes in
            while let entry = cursor.pointee {
                cursor += 1
                let first = entry[0]
                for index in 0..<names.count {
                    let name = bytes.baseAddress! + names.starts[index], length = names.lengths[index]
                    // strncmp, not memcmp: it stops at the end of a shorter entry.
                    guard name[0] == first, strncmp(entry, name, length) == 0, entry[length] == CChar(UInt8(ascii: "="))
                    else { continue }
                    if values[index] == nil {
                        values[index] = String(cString: entry + length + 1)
                    } else {
                        repeated |= 1 << UInt64(index)
                    }
                    break
                }
            }
        }
        return (values, repeated)
    }

    /// Reads the body, refusing more than `limit` bytes whatever CONTENT_LENGTH claims:
    /// libfcgi itself puts no bound on it.
    public func readBody(contentLength: Int?, limit: Int) -> BodyReadResult {
        BodyReader.read(contentLength: contentLength, limit: limit) { buffer, count in
            Int(FCGX_GetStr(buffer, Int32(count), request.pointee.in))
        }
    }

    /// Writes the whole response. Returns false when the client went away (EPIPE and friends):
    /// the worker logs it and carries on with the next request. `complete` (the usual case) closes
    /// the request's streams too, so libfcgi sends the response, the end of its stream and
    /// FCGI_END_REQUEST in one write (as the C hello world's loop does); otherwise the bytes are flushed and the stream stays
    /// open (a test hook's worker dying part way through a response).
    @discardableResult
    public func write(_ bytes: [UInt8], complete: Bool = true) -> Bool {
        var offset = 0
        return bytes.withUnsafeBufferPointer { buffer -> Bool in
            while offset < buffer.count {
                let chunk = min(buffer.count - offset, 1 << 20)
                let written = buffer.baseAddress!.advanced(by: offset).withMemoryRebound(
                    to: CChar.self, capacity: chunk
                ) {
                    FCGX_PutStr($0, Int32(chunk), request.pointee.out)
                }
                if written < 0 || FCGX_GetError(request.pointee.out) != 0 { return false }
                offset += Int(written)
            }
            // Both report success even after a failed write: the stream's error is the truth.
            if complete {
                // libfcgi appends FCGI_END_REQUEST to the stream closed last: stderr (empty) first,
                // so the response, its end and the end of the request leave in one write().
                _ = FCGX_FClose(request.pointee.err)
                _ = FCGX_FClose(request.pointee.out)
            } else {
                _ = FCGX_FFlush(request.pointee.out)
            }
            return FCGX_GetError(request.pointee.out) == 0
        }
    }

    /// Ends the request (FCGI_END_REQUEST) and closes its connection, always. nginx asks us to keep
    /// it (`fastcgi_keep_conn on`, so that it can tell a response cut short by a dying worker from
    /// a complete one), and libfcgi would then wait for the next request on that connection: this
    /// worker would be pinned to one nginx connection instead of taking the next from the queue.
    public func finish() {
        FCGX_Finish_r(request)
        FCGX_Free(request, 1)
    }
}

public enum BodyReadResult: Equatable {
    case body([UInt8])
    case tooLarge
    /// The client sent fewer bytes than CONTENT_LENGTH announced (an aborted upload).
    case truncated
}

/// Body reading separated from libfcgi so the cap can be tested without a socket.
public enum BodyReader {
    public static func read(
        contentLength: Int?, limit: Int,
        from source: (UnsafeMutablePointer<CChar>, Int) -> Int
    ) -> BodyReadResult {
        let announced = contentLength ?? 0
        if announced > limit { return .tooLarge }
        if announced <= 0 { return .body([]) }
        var body = [UInt8](repeating: 0, count: announced)
        var filled = 0
        let complete = body.withUnsafeMutableBufferPointer { buffer -> Bool in
            while filled < announced {
                let got = buffer.baseAddress!.advanced(by: filled).withMemoryRebound(
                    to: CChar.self, capacity: announced - filled
                ) {
                    source($0, announced - filled)
                }
                if got <= 0 { return false }
                filled += got
            }
            return true
        }
        return complete ? .body(body) : .truncated
    }
}

/// The CGI response head libfcgi passes to nginx: a `Status:` line, never an HTTP status line.
public enum CGIResponse {
    /// Each field is written with its name as spelled (`ETag`, `X-Request-Id`). No name or value can
    /// split the head: HTTPFields holds only token names, and values without CR or LF (HTTPTypes
    /// turns those into spaces when a field is made).
    public static func encode(status: Int, reason: String, headers: HTTPFields, body: [UInt8]) -> [UInt8] {
        // A HEAD answer brings the GET's length along (and no body); everything else is measured
        // here, except 204 and 304, which have no content and send no length (RFC 9110 8.6).
        let measured = status != 204 && status != 304 && !headers.contains(.contentLength)
        var out = head(
            status: status, reason: reason, headers: headers, contentLength: measured ? body.count : nil,
            reserving: body.count + 2)
        out.append(contentsOf: [0x0D, 0x0A])
        out.append(contentsOf: body)
        return out
    }

    /// The status line and the fields, each line ended, without the blank line that ends the head
    /// (a kept answer adds its per-request fields after it; see Server's `ResponseCache`).
    public static func head(
        status: Int, reason: String, headers: HTTPFields, contentLength: Int?, reserving extra: Int = 0
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(extra + 128 + headers.count * 32)
        out.append(contentsOf: "Status: \(status) \(reason)\r\n".utf8)
        for field in headers { appendField(field.name.rawName, field.value, to: &out) }
        if let contentLength { appendField("Content-Length", String(contentLength), to: &out) }
        return out
    }

    public static func appendField(_ name: String, _ value: String, to out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
        out.append(contentsOf: value.utf8)
        out.append(contentsOf: [0x0D, 0x0A])
    }
}

/// Param names for `FastCGIConnection.params(named:)`, laid out once: one buffer of C strings.
public struct ParamNames: Sendable {
    let bytes: [CChar]
    let starts: [Int]
    let lengths: [Int]
    public var count: Int { starts.count }

    public init(_ names: [String]) {
        precondition(names.count <= 64 && names.allSatisfy { !$0.isEmpty })
        var bytes: [CChar] = [], starts: [Int] = [], lengths: [Int] = []
        for name in names {
            starts.append(bytes.count)
            lengths.append(name.utf8.count)
            bytes.append(contentsOf: name.utf8CString)
        }
        self.bytes = bytes
        self.starts = starts
        self.lengths = lengths
    }
}
