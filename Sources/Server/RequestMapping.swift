import FastCGI
import HTTP

/// Turns the CGI params nginx sent into an `HTTPRequest`. Pure, so it is tested without a socket.
public enum RequestMapping {
    public enum Failure: Error, Equatable {
        case unsupportedMethod(String)
        /// Two `Authorization` headers: which one would we trust? Refused outright.
        case repeatedAuthorization
    }

    public static func request(from params: FastCGIParams, body: [UInt8]) -> Result<HTTPRequest, Failure> {
        let methodName = params["REQUEST_METHOD"] ?? "GET"
        guard let method = HTTPMethod(served: methodName) else { return .failure(.unsupportedMethod(methodName)) }
        if params.repeatedNames.contains("HTTP_AUTHORIZATION") { return .failure(.repeatedAuthorization) }
        // Set through the subscripts: HTTPTypes' code for them is compiled into this module, while
        // `append`, `append(contentsOf:)` and `replaceSubrange` run generic code, several hundred
        // instructions a field (callgrind).
        var headers = HTTPFields()
        headers.reserveCapacity(params.values.count)
        for (param, value) in params.values {
            let isHeaderParam = param.hasPrefix("HTTP_")
            guard isHeaderParam || param == "CONTENT_TYPE" || param == "CONTENT_LENGTH" else { continue }
            // nginx passes these two twice, as the CGI variable and as HTTP_CONTENT_TYPE (the
            // header): one field each, the CGI variable's.
            if isHeaderParam && isSecondCopy(param, params) { continue }
            // A name that is no field name (nginx drops those unless `ignore_invalid_headers off`)
            // cannot be asked for by name: nothing is lost.
            guard
                let name = HTTPField.Name(
                    parsed: headerName(fromParam: isHeaderParam ? param.dropFirst(5) : Substring(param)))
            else { continue }
            // One field per name: param names are unique and the second copies were skipped.
            if HTTPField.isKeptAsIs(value) {
                headers[name] = value
            } else {
                headers[fields: name] = [HTTPField(name: name, lenientValue: value.utf8)]
            }
        }
        // nginx's normalized, percent-decoded path ($document_uri); the query stays raw.
        let path = params["DOCUMENT_URI"] ?? params["REQUEST_URI"].map { String($0.prefix { $0 != "?" }) } ?? "/"
        let requestID = params["REQUEST_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? generateRequestID()
        return .success(
            HTTPRequest(
                method: method, path: path, query: QueryParameters(params["QUERY_STRING"] ?? ""),
                headers: headers, body: body, remoteAddress: params["REMOTE_ADDR"] ?? "",
                requestID: requestID))
    }

    /// `ACCEPT_ENCODING` -> `accept-encoding`, byte by byte: param names are ASCII (nginx builds
    /// them), and the Character-based `lowercased().map` showed up in every request's profile.
    static func headerName(fromParam name: Substring) -> String {
        let utf8 = name.utf8
        return String(unsafeUninitializedCapacity: utf8.count) { buffer in
            var count = 0
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "_"): buffer[count] = UInt8(ascii: "-")
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): buffer[count] = byte + 32
                default: buffer[count] = byte
                }
                count += 1
            }
            return count
        }
    }

    /// HTTP_CONTENT_TYPE or HTTP_CONTENT_LENGTH beside the CGI variable of the same header.
    private static func isSecondCopy(_ param: String, _ params: FastCGIParams) -> Bool {
        switch param.utf8.count {
        case 17: return param == "HTTP_CONTENT_TYPE" && params["CONTENT_TYPE"] != nil
        case 19: return param == "HTTP_CONTENT_LENGTH" && params["CONTENT_LENGTH"] != nil
        default: return false
        }
    }

    static func generateRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64, low = generator.next() as UInt64
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(high) + hex(low)
    }
}

// Values are kept exactly as the client sent them. HTTPTypes' `init(name:value:)` (and the
// subscript setters) trim leading and trailing blanks and turn control bytes into spaces; nginx
// passes such values on, and handlers saw them unchanged before HTTPTypes, so they still do (the
// lenient form only replaces NUL, CR and LF, which nginx never passes in a header).
extension HTTPField {
    /// Whether `init(name:value:)` keeps `value` unchanged: no control byte but HTAB, no blank at
    /// either end (RFC 9110 5.5). `HTTPField.isValidValue` answers the same at several times the cost.
    static func isKeptAsIs(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            guard let first = bytes.first, let last = bytes.last else { return true }
            if first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 { return false }
            for byte in bytes where (byte < 0x20 && byte != 0x09) || byte == 0x7F { return false }
            return true
        }
    }
}
