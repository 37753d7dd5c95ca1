import Foundation
import SnapCore
import SnapSystem

/// Facts about the VM that the original reports in the status (telemetry and `uniqueMachineId`),
/// computed as it computes them (reference azure-vmsnapshot §2.4, §5.2).
package struct AgentFacts: Sendable {
    let paths: Paths
    let environment: [String: String]
    /// The extension directory (the handler's working directory).
    let directory: String

    package init(paths: Paths, environment: [String: String], directory: String) {
        self.paths = paths
        self.environment = environment
        self.directory = directory
    }

    /// `status` with what the original adds to every report: the machine id and the VM facts.
    package func annotate(_ status: HandlerStatus) -> HandlerStatus {
        var status = status
        status.uniqueMachineId = uniqueMachineId()
        status.telemetry += [
            ("guestAgentVersion", guestAgentVersion()), ("extensionVersion", extensionVersion()),
            ("osVersion", osVersion()), ("workloads", workloads()),
        ]
        return status
    }

    /// The file that keeps the reported machine id across runs, as the original names it.
    package var machineIdFile: String {
        paths.resolve("/etc/azure/machine_identity_FD76C85E-406F-4CFA-8EB0-CF18B123358B")
    }

    /// `uniqueMachineId`: the first line of the machine-id file; when there is none, the `Role guid`
    /// of the agent's `HostingEnvironmentConfig.xml` without its first and last characters (the
    /// braces), saved to that file. Empty when neither exists.
    package func uniqueMachineId() -> String {
        if let text = try? String(contentsOfFile: machineIdFile, encoding: .utf8) {
            let line = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if !line.isEmpty { return line }
        }
        guard let guid = roleGuid(), guid.count > 2 else { return "" }
        let id = String(guid.dropFirst().dropLast())
        let folder = (machineIdFile as NSString).deletingLastPathComponent
        if FileManager.default.fileExists(atPath: folder) {
            try? FileSystem.writeAtomically(Array(id.utf8), to: machineIdFile, mode: 0o644)
        }
        return id
    }

    /// The `guid` attribute of `<Role …>` in `/var/lib/waagent/HostingEnvironmentConfig.xml`.
    func roleGuid() -> String? {
        let file = paths.resolve("/var/lib/waagent/HostingEnvironmentConfig.xml")
        guard let xml = try? String(contentsOfFile: file, encoding: .utf8),
            let role = xml.firstMatch(of: #/<Role\s[^>]*guid="([^"]*)"/#)
        else { return nil }
        return String(role.1)
    }

    /// `guestAgentVersion`: the last "Azure Linux Agent Version" line of `/var/log/waagent.log`, the
    /// part after its last `:` and last `-` (as the original reads it); "Unknown" without one.
    package func guestAgentVersion() -> String {
        let log = paths.resolve("/var/log/waagent.log")
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return "Unknown" }
        var version = ""
        for line in text.split(separator: "\n") where line.contains("Azure Linux Agent Version") {
            version = String(line.split(separator: ":").last ?? "")
        }
        let trimmed = version.split(separator: "-").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return trimmed.isEmpty ? "Unknown" : trimmed
    }

    /// `extensionVersion`: what the agent says (`AZURE_GUEST_AGENT_EXTENSION_VERSION`), else the part
    /// of the extension directory's name after its last `-` (as the original derives it).
    package func extensionVersion() -> String {
        if let v = environment["AZURE_GUEST_AGENT_EXTENSION_VERSION"], !v.isEmpty { return v }
        let name = (directory as NSString).lastPathComponent
        return name.split(separator: "-").last.map(String.init) ?? "Unknown"
    }

    /// `osVersion`: `NAME-VERSION` of os-release (e.g. `Ubuntu-22.04.4 LTS (Jammy Jellyfish)`).
    package func osVersion() -> String {
        var fields: [String: String] = [:]
        for file in [paths.resolve("/etc/os-release"), "/etc/os-release", "/usr/lib/os-release"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                let value = line[line.index(after: eq)...].trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                fields[String(line[..<eq])] = value
            }
            break
        }
        guard let name = fields["NAME"] else { return "Unknown" }
        return name + "-" + (fields["VERSION"] ?? fields["VERSION_ID"] ?? "")
    }

    /// Database servers the original looks for, by process name.
    static let workloadNames = ["mysqld", "mariadbd", "postgres", "oracle"]

    /// `workloads`: the database servers running, as the original prints a Python list (`['mysqld']`).
    package func workloads() -> String {
        var found = Set<String>()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
            guard let comm = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8) else { continue }
            let name = comm.trimmingCharacters(in: .whitespacesAndNewlines)
            if Self.workloadNames.contains(name) { found.insert(name) }
        }
        return "[" + Self.workloadNames.filter(found.contains).map { "'\($0)'" }.joined(separator: ", ") + "]"
    }
}
