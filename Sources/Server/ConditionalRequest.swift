import APICore
import HTTP

/// HTTP conditional requests (RFC 9110 section 13) for every family at once: `ETag` on every 200
/// answer to a GET or HEAD, `If-None-Match` answered with 304, `If-Match` on PUT, PATCH and
/// DELETE checked atomically with the write (see `Application`).
///
/// A tag is the SHA-256 of the representation's bytes (first 128 bits): two answers share a tag
/// only when they are byte for byte the same, which makes it a strong validator, as `If-Match`
/// requires. It covers everything the representation shows (related records' names included),
/// not only the stored record.
enum ConditionalRequest {
    static let guardedMethods: Set<HTTPMethod> = [.put, .patch, .delete]

    static func tag(of body: [UInt8]) -> String {
        "\"" + String(Crypto.sha256Hex(body).prefix(32)) + "\""
    }

    /// The response with its `ETag` (`notModified` then answers a client that has it already).
    static func withTag(_ response: HTTPResponse) -> HTTPResponse {
        var tagged = response
        tagged.headers[.eTag] = tag(of: response.body)
        return tagged
    }

    /// The 304 for a tagged response when `If-None-Match` names its tag, else nil.
    static func notModified(_ tagged: HTTPResponse, ifNoneMatch: String?) -> HTTPResponse? {
        guard let ifNoneMatch, let etag = tagged.headers[.eTag], listMatches(ifNoneMatch, etag, weak: true) else {
            return nil
        }
        return HTTPResponse(status: .notModified, headers: notModifiedFields(of: tagged, entityTag: etag))
    }

    /// What a 304 carries (RFC 9110 15.4.5): the tag, and the 200's Cache-Control and Vary.
    static func notModifiedFields(of response: HTTPResponse, entityTag: String) -> HTTPFields {
        var headers: HTTPFields = [.eTag: entityTag]
        headers.append(contentsOf: response.headers.filter { $0.name == .cacheControl || $0.name == .vary })
        return headers
    }

    /// `If-Match`: `*` when there is a current representation, else one of the listed tags,
    /// compared strongly.
    static func matches(_ ifMatch: String, currentTag: String?) -> Bool {
        guard let currentTag else { return false }
        return listMatches(ifMatch, currentTag, weak: false)
    }

    /// A field value of `*` or comma-separated entity tags. `If-None-Match` compares weakly (a
    /// `W/` prefix is ignored); `If-Match` strongly (a weak tag never matches).
    static func listMatches(_ field: String, _ tag: String, weak: Bool) -> Bool {
        for item in field.split(separator: ",") {
            var candidate = String(item).trimmingSpaces
            if candidate == "*" { return true }
            if candidate.hasPrefix("W/") {
                guard weak else { continue }
                candidate = String(candidate.dropFirst(2))
            }
            if candidate == tag { return true }
        }
        return false
    }
}
