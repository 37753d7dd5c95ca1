import Foundation
import SnapCore
import SnapSystem

/// Decrypts `protectedSettings` (base64 DER CMS) with the waagent certificate:
/// `openssl cms -decrypt -inform DER`, falling back to `openssl smime`. Arguments go as argv (no
/// shell); the ciphertext goes through a private temp file that is removed at once.
package struct ProtectedSettingsDecryptor: Sendable {
    /// `/var/lib/waagent`, resolved under SNAPORCH_ROOT.
    package var waagentDirectory: String
    /// Where the temp file is written (0700, not a snapshotted disk).
    package var scratchDirectory: String
    package var openssl = "/usr/bin/openssl"
    let launcher: any ProcessLauncher

    package init(waagentDirectory: String, scratchDirectory: String, launcher: any ProcessLauncher) {
        self.waagentDirectory = waagentDirectory
        self.scratchDirectory = scratchDirectory
        self.launcher = launcher
    }

    /// The clear JSON of the protected settings.
    package func decrypt(base64: String, thumbprint: String) async -> Result<Data, HandlerError> {
        guard thumbprint.allSatisfy({ $0.isHexDigit }) else {
            return .failure(HandlerError(code: .certificateNotFound, "the certificate thumbprint is not hexadecimal"))
        }
        let certificate = "\(waagentDirectory)/\(thumbprint).crt"
        let key = "\(waagentDirectory)/\(thumbprint).prv"
        guard FileManager.default.fileExists(atPath: certificate), FileManager.default.fileExists(atPath: key) else {
            return .failure(
                HandlerError(code: .certificateNotFound, "unable to load certificate \(certificate) / \(key)"))
        }
        guard let der = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else {
            return .failure(HandlerError(code: .parameterError, "protectedSettings is not base64"))
        }
        try? FileSystem.makeDirectory(scratchDirectory, mode: 0o700)
        let temp = "\(scratchDirectory)/protected.\(ThisProcess.id).der"
        do {
            try FileSystem.writeAtomically(Array(der), to: temp, mode: 0o600)
        } catch {
            return .failure(HandlerError(code: .error, "cannot write a temp file in \(scratchDirectory): \(error)"))
        }
        defer { FileSystem.remove(temp) }
        var lastError = "openssl failed"
        for tool in ["cms", "smime"] {
            var spec = ProcessSpec(
                executable: openssl,
                arguments: [tool, "-decrypt", "-inform", "DER", "-in", temp, "-recip", certificate, "-inkey", key],
                environment: ["PATH": "/usr/bin:/bin"], timeout: .seconds(30))
            spec.tailLimit = 8 << 20
            // It reads the VM's private key as root: only a checked openssl, executed by descriptor.
            spec.pathRule = PathSecurity()
            guard let outcome = try? await launcher.run(spec) else {
                lastError = "cannot run \(openssl)"
                continue
            }
            if outcome.status.isSuccess && !outcome.stdoutTail.isEmpty {
                let clear = Data(outcome.stdoutTail)
                guard (try? JSONSerialization.jsonObject(with: clear)) is [String: Any] else {
                    return .failure(
                        HandlerError(code: .parameterError, "the decrypted protectedSettings are not a JSON object"))
                }
                return .success(clear)
            }
            lastError =
                "openssl \(tool) \(outcome.status): "
                + Redactor().redact(String(decoding: outcome.stderrTail.prefix(300), as: UTF8.self).trimmingSpaces)
        }
        return .failure(HandlerError(code: .certificateNotFound, "cannot decrypt protectedSettings: \(lastError)"))
    }
}
