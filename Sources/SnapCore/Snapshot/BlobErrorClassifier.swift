import Foundation
import SnapSystem

/// Maps Blob service answers to the Azure error codes of the reference (§4.5, §7).
package enum BlobErrorClassifier {
    /// The specific code a response body calls for, if any.
    package static func code(forBody body: String) -> ErrorCode? {
        if body.contains("The rate of snapshot blob calls is exceeded") { return .snapshotRateExceeded }
        if body.contains("The snapshot count against this blob has been exceeded") { return .snapshotLimitReached }
        return nil
    }

    /// True for answers worth another attempt while the deadline allows.
    package static func isTransient(_ result: HTTPResult) -> Bool {
        switch result {
        case .timedOut, .failed: return true
        case .response(let status, _, let body):
            if status >= 500 || status == 408 || status == 429 { return true }
            return code(forBody: String(decoding: body, as: UTF8.self)) == .snapshotRateExceeded
        }
    }

    /// The Azure error name from a response's `x-ms-error-code` header or XML `<Code>`.
    package static func azureCode(headers: [String: String], body: String) -> String? {
        if let code = headers["x-ms-error-code"] { return code }
        guard let start = body.range(of: "<Code>"),
            let end = body.range(of: "</Code>", range: start.upperBound..<body.endIndex)
        else { return nil }
        return String(body[start.upperBound..<end.lowerBound])
    }
}
