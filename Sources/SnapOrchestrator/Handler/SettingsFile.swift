import Foundation
import SnapCore
import SnapSystem

/// `config/<seq>.settings`: which file, what it holds, and the protected settings in clear.
package struct SettingsFile: Sendable {
    /// The sequence number.
    package var sequence: Int
    /// The file.
    package var path: String
    /// `publicSettings`, as JSON.
    package var publicSettings: Data
    /// Decrypted `protectedSettings` as JSON (`{}` when absent or undecryptable).
    package var protectedSettings: Data
    /// Why the protected settings could not be read, if they could not.
    package var protectedError: String?

    /// The sequence number to use: `ConfigSequenceNumber` when set, else the newest `*.settings`.
    package static func sequence(configFolder: String, environment: [String: String]) -> Int? {
        if let text = environment["ConfigSequenceNumber"], let n = Int(text), n >= 0 { return n }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: configFolder)) ?? []
        var newest: (Int, Date)?
        for name in names where name.hasSuffix(".settings") {
            guard let n = Int(name.dropLast(".settings".count)) else { continue }
            let attributes = try? FileManager.default.attributesOfItem(atPath: configFolder + "/" + name)
            let date = attributes?[.modificationDate] as? Date ?? .distantPast
            if newest == nil || date > newest!.1 || (date == newest!.1 && n > newest!.0) { newest = (n, date) }
        }
        return newest?.0
    }

    /// Reads `<configFolder>/<seq>.settings`. With a decryptor it decrypts the protected settings and
    /// rewrites the file without them, so that no secret stays on disk (as the original does);
    /// without one (enable) it reads the public settings only and leaves the file alone.
    package static func load(configFolder: String, sequence: Int, decryptor: ProtectedSettingsDecryptor?)
        async throws(HandlerError)
        -> SettingsFile
    {
        let path = "\(configFolder)/\(sequence).settings"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HandlerError(code: .parameterError, "\(path): cannot read the settings file")
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let runtime = (root["runtimeSettings"] as? [Any])?.first as? [String: Any],
            let handler = runtime["handlerSettings"] as? [String: Any]
        else {
            throw HandlerError(
                code: .parameterError,
                "\(path): not a handler settings file (runtimeSettings[0].handlerSettings missing)")
        }
        let publicSettings = handler["publicSettings"] as? [String: Any] ?? [:]
        var protectedSettings: [String: Any] = [:]
        var protectedError: String?
        if let decryptor, let blob = handler["protectedSettings"] as? String, !blob.isEmpty {
            if let thumbprint = handler["protectedSettingsCertThumbprint"] as? String, !thumbprint.isEmpty {
                switch await decryptor.decrypt(base64: blob, thumbprint: thumbprint) {
                case .success(let clear):
                    protectedSettings = (try? JSONSerialization.jsonObject(with: clear) as? [String: Any]) ?? [:]
                case .failure(let error): protectedError = error.message
                }
            } else {
                protectedError = "protectedSettings present without protectedSettingsCertThumbprint"
            }
            stripProtectedSettings(root: root, path: path)
        }
        return SettingsFile(
            sequence: sequence, path: path,
            publicSettings: (try? JSONSerialization.data(withJSONObject: publicSettings)) ?? Data("{}".utf8),
            protectedSettings: (try? JSONSerialization.data(withJSONObject: protectedSettings)) ?? Data("{}".utf8),
            protectedError: protectedError)
    }

    /// Removes `protectedSettings` from `<configFolder>/<seq>.settings` when it holds them: the guest
    /// agent writes the file again before every enable (a new goal state, its restart, a reboot),
    /// and a sequence already done is never decrypted again. Returns true when it removed them.
    @discardableResult
    package static func stripProtectedSettings(configFolder: String, sequence: Int) -> Bool {
        let path = "\(configFolder)/\(sequence).settings"
        guard let data = FileManager.default.contents(atPath: path),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let runtime = (root["runtimeSettings"] as? [Any])?.first as? [String: Any],
            let handler = runtime["handlerSettings"] as? [String: Any], handler["protectedSettings"] != nil
        else { return false }
        stripProtectedSettings(root: root, path: path)
        return true
    }

    /// Rewrites the settings file without `protectedSettings` (atomically).
    static func stripProtectedSettings(root: [String: Any], path: String) {
        var root = root
        if var runtime = root["runtimeSettings"] as? [Any], var first = runtime.first as? [String: Any],
            var handler = first["handlerSettings"] as? [String: Any]
        {
            handler.removeValue(forKey: "protectedSettings")
            first["handlerSettings"] = handler
            runtime[0] = first
            root["runtimeSettings"] = runtime
        }
        if let data = try? JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]) {
            try? FileSystem.writeAtomically(Array(data), to: path, mode: 0o600)
        }
    }
}
