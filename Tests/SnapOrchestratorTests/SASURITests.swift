import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// A SAS URI is a secret from the edge on: every way Swift turns it into text shows it redacted.
@Suite struct SASURITests {
    static let uri = "https://acct.blob.core.windows.net/vhds/d0.vhd?sv=2021-08-06&sr=b&sp=rw&sig=Top%2BSecretSig%3D"
    static let secretParts = ["sig=", "Top%2BSecretSig", "sp=rw", "sv=2021"]

    func expectRedacted(_ text: String, _ context: String) {
        for part in Self.secretParts { #expect(!text.contains(part), "\(context): \(text)") }
        #expect(text.contains("https://acct.blob.core.windows.net/vhds/d0.vhd"), "\(context): \(text)")
    }

    @Test func everyTextFormIsRedacted() {
        let sas = SASURI(Self.uri)
        expectRedacted("\(sas)", "interpolation")
        expectRedacted(String(describing: sas), "String(describing:)")
        expectRedacted(String(reflecting: sas), "String(reflecting:)")
        expectRedacted(sas.description, "description")
        expectRedacted(sas.debugDescription, "debugDescription")
        var dumped = ""
        dump(sas, to: &dumped)
        expectRedacted(dumped, "dump")
        expectRedacted("\([sas])", "an array of them")
        expectRedacted("\(Optional(sas) as Any)", "an optional")
        var options = RunOptions()
        options.disks = [sas]
        expectRedacted("\(options)", "the run options holding it")
    }

    /// A SAS given percent-encoded (`%3F` for `?`), or pasted without its `?`, is cut at its query
    /// too: it used to be shown whole, signature included, in errors, the report and the status.
    @Test(arguments: [
        "https%3A%2F%2Fa.blob.core.windows.net%2Fc%2Fd.vhd%3Fsv%3D1%26sig%3DEncSig99",
        "https%3a%2f%2fa.blob.core.windows.net%2fc%2fd.vhd%3fsv%3d1%26sig%3dEncSig99",
        "acct.blob.core.windows.net/c/d.vhd&sig=EncSig99&sv=1",
    ])
    func aSASWithoutALiteralQuestionMarkIsCutToo(_ text: String) {
        let sas = SASURI(text)
        #expect(!"\(sas)".contains("EncSig99") && !Redactor.redactURI(text).contains("EncSig99"), "\(sas)")
        #expect("\(sas)".contains("d.vhd"), "\(sas)")
    }

    @Test func onlyTheRequestSeesTheSecret() throws {
        let sas = SASURI(Self.uri)
        #expect(sas.requestURL()?.absoluteString == Self.uri)
        #expect(sas.requestURL(addingQuery: "comp=snapshot")?.absoluteString == Self.uri + "&comp=snapshot")
        #expect(sas.signatures.contains("Top%2BSecretSig%3D") && sas.signatures.contains("Top+SecretSig="))
        let blob = try #require(BlobURI(sas))
        #expect(blob.url.absoluteString == Self.uri)
        #expect(BlobURI(SASURI("ftp://x/y?sig=abc")) == nil && BlobURI(SASURI("not a uri")) == nil)
        #expect(SASURI(Self.uri) == sas && SASURI(Self.uri + "x") != sas)
    }

    @Test func theHandlerSettingsHoldThemAsSecrets() throws {
        let pub = try JSONSerialization.data(withJSONObject: [
            "taskId": "t-1", "commandToExecute": "snapshot", "statusBlobUri": Self.uri,
            "objectStr": try JSONSerialization.data(withJSONObject: ["backupMetadata": []]).base64EncodedString(),
        ])
        let prot = try JSONSerialization.data(withJSONObject: [
            "objectStr": try JSONSerialization.data(withJSONObject: ["blobSASUri": [Self.uri]]).base64EncodedString()
        ])
        let parameters = try BackupParameters.parse(publicJSON: pub, protectedJSON: prot)
        #expect(parameters.blobSASUris == [SASURI(Self.uri)])
        expectRedacted("\(parameters.blobSASUris) \(parameters.statusBlobUri as Any)", "the parameters")
        var dumped = ""
        dump(parameters, to: &dumped)
        for part in Self.secretParts { #expect(!dumped.contains(part), "dump of the parameters: \(dumped)") }
    }

    @Test func theConfigHoldsThemAsSecrets() throws {
        let yaml = "version: 1\nsnapshot:\n  provider: blob\n  disks: [\"\(Self.uri)\"]\n"
        let config = try #require(ConfigDecoder(file: "c").decode(Array(yaml.utf8)).config)
        #expect(config.snapshot.disks == [SASURI(Self.uri)])
        var dumped = ""
        dump(config, to: &dumped)
        for part in Self.secretParts { #expect(!dumped.contains(part), "dump of the config: \(dumped)") }
    }
}
