import Foundation

/// A blob URI that may carry a SAS token (a bearer secret), held so that it never prints.
///
/// Made once where the URI enters the agent (the handler's protected settings, `--disk` and
/// `--status-blob` on the command line or from a file, `snapshot.disks` of the config), and passed
/// as this type from there on. Its `description`, `debugDescription`, mirror (`dump`) and string
/// interpolation all give `display`: the URI without its query. The whole URI only leaves through
/// `requestURL(addingQuery:)`, for the HTTP layer that sends the request.
package struct SASURI: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The URI as given, SAS included.
    private let secret: String
    /// The URI without its query (a `snapshot=` id is kept): safe to show.
    package let display: String

    /// Wraps `text` as given; nothing is checked here (see `isHTTPURL`).
    package init(_ text: String) {
        secret = text
        display = Redactor.redactURI(text)
    }

    /// True for an absolute `http`/`https` URL with a host.
    package var isHTTPURL: Bool {
        guard let url = URL(string: secret), let scheme = url.scheme?.lowercased() else { return false }
        return (scheme == "https" || scheme == "http") && url.host != nil
    }

    /// True when the text starts with `http://` or `https://` (the config's shape check).
    package var hasHTTPScheme: Bool { secret.hasPrefix("https://") || secret.hasPrefix("http://") }

    /// The `sig` values of its query, raw and percent-decoded: what a `Redactor` masks in output
    /// that might echo them.
    package var signatures: [String] { Redactor.sasSignatures(secret) }

    /// The whole URI, SAS included, with `extra` (e.g. `comp=snapshot`) added to its query: for the
    /// HTTP layer only. Nil when it is not a URL.
    package func requestURL(addingQuery extra: String? = nil) -> URL? {
        guard let extra else { return URL(string: secret) }
        return URL(string: secret.contains("?") ? "\(secret)&\(extra)" : "\(secret)?\(extra)")
    }

    /// The URI without its SAS.
    package var description: String { display }

    /// The URI without its SAS, marked as a SAS URI.
    package var debugDescription: String { "SASURI(\(display))" }

    /// Only the redacted form: `dump` and reflection never see the SAS.
    package var customMirror: Mirror { Mirror(self, children: ["display": display], displayStyle: .struct) }
}
