import Foundation
import SnapCore
import SnapSystem

/// `snaporch run --settings F`: an Azure handler settings file with the protected settings in
/// clear (for a run by hand or by a test), as the source of the task id, the disks, the status
/// blob and the snapshot method. The file holds secrets: it must be root-owned and 0600.
enum SettingsOption {
    /// Reads `path`: `{"runtimeSettings":[{"handlerSettings":{"publicSettings":…,"protectedSettings":…}}]}`
    /// or just `{"publicSettings":…,"protectedSettings":…}`, protected settings as a JSON object.
    static func load(_ path: String) throws(UsageError) -> BackupParameters {
        if let problem = DatabaseStep.credentialProblem(path) { throw UsageError("--settings \(path): \(problem)") }
        let bytes: [UInt8]
        switch ConfigLoader.readFile(path, limit: 1 << 20) {
        case .failure(let error): throw UsageError("--settings \(path): \(error.message)")
        case .success(let b): bytes = b
        }
        guard var object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw UsageError("--settings \(path): not a JSON object")
        }
        if let handler = ((object["runtimeSettings"] as? [Any])?.first as? [String: Any])?["handlerSettings"]
            as? [String: Any]
        {
            object = handler
        }
        guard let pub = object["publicSettings"] as? [String: Any] else {
            throw UsageError("--settings \(path): no publicSettings")
        }
        let prot: [String: Any]
        switch object["protectedSettings"] {
        case nil, is NSNull: prot = [:]
        case let clear as [String: Any]: prot = clear
        case is String:
            throw UsageError(
                "--settings \(path): protectedSettings is encrypted (a file of the guest agent's config folder); "
                    + "--settings takes them in clear as a JSON object — the handler (`snaporch handler enable`) "
                    + "decrypts the agent's own files")
        default:
            throw UsageError("--settings \(path): protectedSettings must be a JSON object")
        }
        do throws(HandlerError) {
            return try BackupParameters.parse(
                publicJSON: (try? JSONSerialization.data(withJSONObject: pub)) ?? Data(),
                protectedJSON: (try? JSONSerialization.data(withJSONObject: prot)) ?? Data("{}".utf8))
        } catch {
            throw UsageError("--settings \(path): \(error.message) (code \(error.code.rawValue))")
        }
    }
}
