import Foundation
import SnapSystem

/// A blob SAS URI split into what may be shown and what must not.
package struct BlobURI: Sendable, Hashable {
    /// The full URI, SAS included. Never logged.
    package let full: String
    /// The URI without its query: safe to show.
    package let display: String

    /// Parses a blob URI; nil when it is not an absolute http(s) URL.
    package init?(_ text: String) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            url.host != nil
        else { return nil }
        full = text
        display = Redactor.redactURI(text)
    }

    /// The URI with `extra` (e.g. `comp=snapshot`) added to its query.
    package func adding(query extra: String) -> URL {
        let joined = full.contains("?") ? "\(full)&\(extra)" : "\(full)?\(extra)"
        return URL(string: joined)!
    }

    /// The snapshot's own URI: the blob URI without SAS, plus `?snapshot=<id>`.
    package func snapshotURI(_ id: String) -> String { "\(display)?snapshot=\(id)" }
}
