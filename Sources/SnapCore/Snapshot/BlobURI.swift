import Foundation
import SnapSystem

/// A SAS URI checked to be an absolute http(s) blob URL, ready for requests.
package struct BlobURI: Sendable, Hashable {
    /// The URI, SAS included; prints redacted.
    package let sas: SASURI
    /// The URI without its query: safe to show.
    package var display: String { sas.display }
    /// The URI itself, for the HTTP request.
    let url: URL

    /// Checks a SAS URI; nil when it is not an absolute http(s) URL.
    package init?(_ sas: SASURI) {
        guard sas.isHTTPURL, let url = sas.requestURL() else { return nil }
        self.sas = sas
        self.url = url
    }

    /// The URI with `extra` (e.g. `comp=snapshot`) added to its query.
    package func adding(query extra: String) -> URL { sas.requestURL(addingQuery: extra) ?? url }

    /// The snapshot's own URI: the blob URI without SAS, plus `?snapshot=<id>`.
    package func snapshotURI(_ id: String) -> String { "\(display)?snapshot=\(id)" }
}
