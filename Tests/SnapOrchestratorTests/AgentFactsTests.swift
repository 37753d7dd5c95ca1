import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// What the original reports about the VM (telemetry, `uniqueMachineId`), the extension events it
/// forwards to the guest agent, and the wire server address the agent gives its extensions.
@Suite struct AgentFactsTests {
    @Test func uniqueMachineIdIsTheRoleGuidWithoutBracesAndIsKept() throws {
        let tree = TestTree("facts")
        defer { tree.cleanup() }
        tree.write(
            "var/lib/waagent/HostingEnvironmentConfig.xml",
            """
            <?xml version="1.0"?><HostingEnvironmentConfig version="1.0.0.0">
            <Deployment name="d" guid="{00000000-0000-0000-0000-000000000001}" incarnation="0"/>
            <Role guid="{b61f93d0-e1ed-40b2-b067-22c243233448}" name="vm" hostingEnvironmentVersion="1"/>
            </HostingEnvironmentConfig>
            """)
        try FileManager.default.createDirectory(atPath: tree.path("etc/azure"), withIntermediateDirectories: true)
        let facts = AgentFacts(paths: Paths(root: tree.root), environment: [:], directory: tree.path("ext"))
        #expect(facts.uniqueMachineId() == "b61f93d0-e1ed-40b2-b067-22c243233448")
        #expect(
            tree.read("etc/azure/machine_identity_FD76C85E-406F-4CFA-8EB0-CF18B123358B")
                == "b61f93d0-e1ed-40b2-b067-22c243233448")
        // Once saved, the file wins (a restored VM keeps reporting the id it was backed up with).
        tree.write("etc/azure/machine_identity_FD76C85E-406F-4CFA-8EB0-CF18B123358B", "kept-id\nignored\n")
        #expect(facts.uniqueMachineId() == "kept-id")
    }

    @Test func versionsAndOSComeFromWhereTheOriginalReadsThem() {
        let tree = TestTree("facts")
        defer { tree.cleanup() }
        tree.write(
            "var/log/waagent.log",
            "2026/12/07 06:00:00.0 INFO Daemon Azure Linux Agent Version: 2.2.45\n"
                + "2026/12/07 06:00:01.0 INFO ExtHandler Azure Linux Agent Version: WALinuxAgent-2.15.0.1\n")
        tree.write(
            "etc/os-release", "NAME=\"Ubuntu\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nVERSION_ID=\"22.04\"\n")
        let dir = tree.path("Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9184.0")
        let facts = AgentFacts(paths: Paths(root: tree.root), environment: [:], directory: dir)
        #expect(facts.guestAgentVersion() == "2.15.0.1")
        #expect(facts.extensionVersion() == "1.0.9184.0")
        #expect(facts.osVersion() == "Ubuntu-22.04.4 LTS (Jammy Jellyfish)")
        let told = AgentFacts(
            paths: Paths(root: tree.root), environment: ["AZURE_GUEST_AGENT_EXTENSION_VERSION": "0.2.0"],
            directory: dir)
        #expect(told.extensionVersion() == "0.2.0")
        #expect(facts.workloads().hasPrefix("[") && facts.workloads().hasSuffix("]"))
        let status = facts.annotate(HandlerStatus(status: .success, code: 0, message: "m", taskId: "t"))
        let keys = Set(status.telemetry.map(\.0))
        #expect(keys.isSuperset(of: ["guestAgentVersion", "extensionVersion", "osVersion", "workloads"]))
    }

    @Test func telemetryCarriesThawTimeAndPrePostEnabled() {
        var report = HandlerStatusTests.report("app")
        report.timeline.append(TimelineEntry(step: .freezeWindow, startMs: 6, endMs: 215))
        let status = StatusMapper.status(
            for: report, parameters: HandlerStatusTests.parameters(), storage: HandlerStatusTests.storage)
        let telemetry = Dictionary(status.telemetry, uniquingKeysWith: { a, _ in a })
        #expect(telemetry["ThawTime"] == "0:00:00.007000")
        #expect(telemetry["prePostEnabled"] == "False")
    }

    @Test func warningsAndErrorsBecomeEventsInTheAgentsFolder() throws {
        let tree = TestTree("events")
        defer { tree.cleanup() }
        let folder = tree.path("events")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let events = ExtensionEvents(folder: folder, version: "0.1.0", operationId: "task-9")
        #expect(events.write(.info, ["below the threshold"]) == nil)
        let path = try #require(events.write(.error, ["it failed at https://a.blob.core.windows.net/c/d?sig=SECRET"]))
        #expect(((path as NSString).lastPathComponent).wholeMatch(of: #/[0-9]+\.json/#) != nil)
        let data = try #require(FileManager.default.contents(atPath: path))
        let array = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let event = try #require(array.first)
        for key in ["Version", "Timestamp", "TaskName", "EventLevel", "Message", "EventPid", "EventTid", "OperationId"]
        {
            #expect(event[key] is String, "\(key) must be a string")
        }
        #expect(event["EventLevel"] as? String == "Error" && event["OperationId"] as? String == "task-9")
        #expect(!(event["Message"] as? String ?? "SECRET").contains("SECRET"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 1, "no temporary file left")
        // The folder is the agent's: never created.
        let gone = ExtensionEvents(folder: tree.path("missing/events"), version: "0.1.0", operationId: "")
        #expect(gone.write(.error, ["x"]) == nil)
        #expect(!FileManager.default.fileExists(atPath: tree.path("missing")))
    }

    @Test(arguments: [
        ([:], "168.63.129.16:80"),
        (["AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS": "10.1.2.3"], "10.1.2.3:80"),
        (["AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS": "10.1.2.3:8080"], "10.1.2.3:8080"),
        (["AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS": "10.1.2.3", "SNAPORCH_WIRESERVER": "127.0.0.1:9"], "127.0.0.1:9"),
    ])
    func hostEndpointHonoursTheAgentsWireAddress(_ environment: [String: String], _ expected: String) {
        #expect(HostSnapshotProvider.endpoint(environment: environment) == expected)
    }
}
