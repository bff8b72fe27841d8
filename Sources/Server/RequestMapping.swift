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
        guard let method = HTTPMethod(rawValue: methodName) else { return .failure(.unsupportedMethod(methodName)) }
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
        return .success(HTTPRequest(method: method, path: path, query: QueryParameters(params["QUERY_STRING"] ?? ""),
                                    headers: headers, body: body, remoteAddress: params["REMOTE_ADDR"] ?? "",
                                    requestID: requestID))
    }

    static func headerName(fromParam name: Substring) -> String {
        String(name.lowercased().map { $0 == "_" ? "-" : $0 })
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
