import Foundation

/// Removes secrets from text before it reaches a log, a report, a status or an error message.
///
/// It knows the shapes of secrets (SAS query strings, `sig=`, `password=`) and any literal values
/// it is given (e.g. a DB password read from a file).
package struct Redactor: Sendable {
    /// Literal secret values to mask wherever they appear.
    package var secrets: [String]

    /// Creates a redactor that also masks the given literal values.
    package init(secrets: [String] = []) { self.secrets = secrets.filter { $0.count >= 4 } }

    /// Query parameter names whose values are secret.
    static let secretParameters = ["sig", "password", "passwd", "pwd", "secret", "token", "sas", "key", "accountkey"]

    /// A blob URI without its query (the SAS token): `https://acct.blob…/c/disk0.vhd`. The query
    /// starts at `?`; in a URI given percent-encoded at `%3F`, and in one pasted without its `?` at
    /// the first `&` — whichever comes first.
    package static func redactURI(_ uri: String) -> String {
        let starts = [
            uri.firstIndex(of: "?"), uri.range(of: "%3F", options: .caseInsensitive)?.lowerBound,
            uri.firstIndex(of: "&"),
        ]
        guard let q = starts.compactMap({ $0 }).min() else { return uri }
        var base = String(uri[..<q])
        // A snapshot id in the query is not secret and identifies the snapshot: keep it.
        if uri[q] == "?" {
            let query = uri[uri.index(after: q)...]
            if let snap = query.split(separator: "&").first(where: { $0.hasPrefix("snapshot=") }) { base += "?\(snap)" }
        }
        return base
    }

    /// The `sig` values of a SAS URI, raw and percent-decoded, to seed a redactor with.
    package static func sasSignatures(_ uri: String) -> [String] {
        guard let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return [] }
        return query.split(separator: "&").filter { $0.lowercased().hasPrefix("sig=") }.flatMap { pair -> [String] in
            let value = String(pair.dropFirst(4))
            return [value, value.removingPercentEncoding ?? value]
        }
    }

    /// `text` with every secret masked as `***`: the literal values, `name=value` query and
    /// environment pairs, `key: value`, `--password X`, `-pX` (MySQL clients), SQL `IDENTIFIED BY '…'`
    /// and `PASSWORD '…'`, `Bearer …` and SAS signatures (see `SecretPatterns`).
    package func redact(_ text: String) -> String {
        guard !text.isEmpty else { return text }
        var out = text
        for secret in secrets where out.contains(secret) {
            out = out.replacing(secret, with: "***")
        }
        out = Self.redactParameters(out)
        guard SecretPatterns.mayMatch(out) else { return out }
        for pattern in SecretPatterns.compiled.all { out = Self.mask(out, pattern) }
        if out.contains("-p"), let client = SecretPatterns.compiled.mysqlClient, out.firstMatch(of: client) != nil,
            let short = SecretPatterns.compiled.mysqlShortPassword
        {
            out = Self.mask(out, short)
        }
        return out
    }

    /// The last bytes of an output, as text with secrets masked. When the output was longer
    /// (`wasCut`), the text starts after the tail's first line break (or, in a single line, its
    /// first blank): the cut may have split a secret from the name that marks it (`word=X` of
    /// `password=X`), and a broken first line says nothing anyway.
    package func redact(tail: [UInt8], wasCut: Bool) -> String {
        var start = tail.startIndex
        if wasCut {
            let boundary =
                tail.firstIndex(of: UInt8(ascii: "\n"))
                ?? tail.firstIndex(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
            start = boundary.map { $0 + 1 } ?? tail.endIndex
        }
        return redact(String(decoding: tail[start...], as: UTF8.self))
    }

    /// Replaces group 2 of every match of `regex` with `***`, keeping group 1.
    static func mask(_ text: String, _ regex: Regex<AnyRegexOutput>) -> String {
        text.replacing(regex) { match in
            let kept = match.output.count > 1 ? match.output[1].substring.map(String.init) ?? "" : ""
            let secret = match.output.count > 2 ? match.output[2].substring.map(String.init) ?? "" : ""
            return secret == "***" ? kept + secret : kept + "***"
        }
    }

    /// Masks `name=value` where `name` is a secret parameter (case-insensitive), up to `&`, space or quote.
    static func redactParameters(_ text: String) -> String {
        guard text.contains("=") else { return text }
        var bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "=") else { i += 1; continue }
            var start = i
            while start > 0, Self.isNameByte(bytes[start - 1]) { start -= 1 }
            let name = String(decoding: bytes[start..<i], as: UTF8.self).lowercased()
            guard Self.secretParameters.contains(name) else { i += 1; continue }
            var end = i + 1
            while end < bytes.count, !Self.isValueTerminator(bytes[end]) { end += 1 }
            if end > i + 1 {
                bytes.replaceSubrange((i + 1)..<end, with: Array("***".utf8))
            }
            i += 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2D
    }

    private static func isValueTerminator(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "&") || b == UInt8(ascii: " ") || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'")
            || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\t") || b == UInt8(ascii: ",") || b == UInt8(ascii: "}")
            || b == UInt8(ascii: ";")
    }
}
