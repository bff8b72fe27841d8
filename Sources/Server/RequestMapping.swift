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
        var headers = HTTPHeaders()
        for (name, value) in params.values {
            if name.hasPrefix("HTTP_") {
                headers.add(headerName(fromParam: name.dropFirst(5)), value)
            } else if name == "CONTENT_TYPE" || name == "CONTENT_LENGTH" {
                headers.add(headerName(fromParam: Substring(name)), value)
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
