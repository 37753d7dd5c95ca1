import Foundation
import SnapSystem

/// Builds the snapshot provider a plan asks for.
package enum SnapshotProviders {
    /// The provider of `plan`; `host` describes the host path (from the handler settings, or defaults).
    package static func make(
        for plan: Plan, launcher: any ProcessLauncher, environment: [String: String],
        host hostRequest: HostSnapshotRequest? = nil,
        metadata: [(key: String, value: String)] = []
    ) -> (any SnapshotProvider)? {
        let settings = plan.config.snapshot
        let client = CurlHTTPClient()
        let guest =
            plan.disks.isEmpty && settings.method != nil
            ? nil
            : BlobSnapshotProvider(disks: plan.disks, metadata: metadata, timeout: settings.timeout, client: client)
        let host = HostSnapshotProvider(
            endpoint: HostSnapshotProvider.endpoint(environment: environment),
            request: hostRequest ?? HostSnapshotRequest(taskId: plan.options.taskId ?? ""), timeout: settings.timeout,
            client: client)
        switch settings.provider {
        case .command:
            return CommandSnapshotProvider(
                argv: settings.command, timeout: settings.timeout, launcher: launcher,
                environment: [
                    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                    // Marks the command as this run's, so that a recovery can find it if snaporch dies.
                    "SNAPORCH_RUN_ID": plan.options.runId ?? "", "SNAPORCH_PHASE": "snapshot",
                    "SNAPORCH_TASK_ID": plan.options.taskId ?? "",
                ])
        case .blob, .host:
            let method = settings.method ?? (settings.provider == .blob ? .onlyGuest : .onlyHost)
            return MethodSnapshotProvider(method: method, guest: guest, host: host)
        case .none, .platform:
            // `platform` needs the holder's control channel: `RunSession.provider(for:)` builds it.
            return nil
        }
    }
}
