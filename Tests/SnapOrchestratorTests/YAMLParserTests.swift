import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

@Suite struct YAMLParserTests {
    func parse(_ text: String) throws(YAMLError) -> YAMLNode? { try YAMLParser().parse(Array(text.utf8)) }

    func mapping(_ node: YAMLNode?) -> [String: YAMLNode] {
        guard case .mapping(let pairs)? = node?.kind else { return [:] }
        return Dictionary(uniqueKeysWithValues: pairs.map { ($0.key.scalar!, $0.value) })
    }

    @Test func anchorsAndAliasesAreResolved() throws {
        let root = try parse(
            """
            defaults: &d
              timeout: 30s
              retries: 2
            a: *d
            b: [*d, x]
            """)
        let map = mapping(root)
        #expect(mapping(map["a"])["timeout"]?.scalar == "30s")
        guard case .sequence(let items)? = map["b"]?.kind else { Issue.record("b is not a list"); return }
        #expect(mapping(items[0])["retries"]?.scalar == "2")
        #expect(items[0].mark == SourceMark(line: 5, column: 5))
    }

    @Test func blockAndFlowStylesAgree() throws {
        let block = try parse("list:\n  - a\n  - b\nmap:\n  k: v\n")
        let flow = try parse("{list: [a, b], map: {k: v}}")
        let b = mapping(block), f = mapping(flow)
        func items(_ n: YAMLNode?) -> [String] {
            guard case .sequence(let xs)? = n?.kind else { return [] }
            return xs.compactMap(\.scalar)
        }
        #expect(items(b["list"]) == ["a", "b"] && items(f["list"]) == ["a", "b"])
        #expect(mapping(b["map"])["k"]?.scalar == mapping(f["map"])["k"]?.scalar)
    }

    @Test func multiLineStringsAndQuoting() throws {
        let map = mapping(try parse("lit: |\n  one\n  two\nfold: >\n  one\n  two\nq: \"yes\"\np: yes\n"))
        #expect(map["lit"]?.scalar == "one\ntwo\n")
        #expect(map["fold"]?.scalar == "one two\n")
        #expect(map["q"]?.isPlainScalar == false)
        #expect(map["p"]?.isPlainScalar == true)
    }

    @Test func unicodeAndComments() throws {
        let map = mapping(try parse("# comment\nname: café-ß-日本 # trailing\n"))
        #expect(map["name"]?.scalar == "café-ß-日本")
    }

    @Test func emptyDocumentIsNil() throws {
        #expect(try parse("") == nil)
        #expect(try parse("# only a comment\n") == nil)
    }

    @Test func tabIndentationIsAPositionedError() throws {
        do throws(YAMLError) {
            _ = try parse("plugins:\n\t- name: a\n")
            Issue.record("tab indentation was accepted")
        } catch {
            #expect(error.mark.line == 2)
            #expect(error.message.contains("tab"))
        }
    }

    @Test func syntaxErrorHasPosition() throws {
        do throws(YAMLError) {
            _ = try parse("a: [1, 2\nb: 3\n")
            Issue.record("accepted")
        } catch {
            #expect(error.mark.line >= 2)
            #expect(error.message.contains("flow sequence") || error.message.contains("expected"))
        }
    }

    @Test func duplicateKeysAreRejected() throws {
        #expect(throws: YAMLError.self) { try parse("a: 1\nb: 2\na: 3\n") }
        do throws(YAMLError) { _ = try parse("a: 1\nb: 2\na: 3\n") } catch {
            #expect(error.mark == SourceMark(line: 3, column: 1))
        }
    }

    @Test func deepNestingIsRejectedNotCrashing() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: YAMLError.self) { try parse(deep) }
        let deepMaps = (0..<200).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " 1\n"
        #expect(throws: YAMLError.self) { try parse(deepMaps) }
    }

    @Test func aliasBombIsBounded() throws {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 {
            text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        do throws(YAMLError) {
            _ = try parse(text)
            Issue.record("alias bomb accepted")
        } catch {
            #expect(error.message.contains("alias"))
        }
    }

    @Test func unknownAliasIsAnError() throws {
        #expect(throws: YAMLError.self) { try parse("a: *nope\n") }
    }

    @Test func secondDocumentIsRejected() throws {
        #expect(throws: YAMLError.self) { try parse("a: 1\n---\nb: 2\n") }
    }
}
