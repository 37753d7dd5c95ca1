import SnapSystem

// The journal's step records as hand-written JSON (`JournalRecord.json`); the keys are the
// synthesized `Codable` ones, so `JSONDecoder` reads them back unchanged.

extension JournalState.OwedPost {
    var json: JSONText {
        .members([
            ("plugin", .string(plugin)), ("executable", executable.map(JSONText.string)),
            ("arguments", .strings(arguments)), ("timeoutMs", .integer(Int64(timeoutMs))),
            ("invocation", invocation?.json), ("hold", hold?.json), ("replica", replica?.json),
        ])
    }
}

extension JournalState.Replica {
    var json: JSONText {
        .members([("defaultsFile", .string(defaultsFile)), ("socket", socket.map(JSONText.string))])
    }
}

extension JournalState.Hold {
    var json: JSONText {
        .members([("type", .string(type)), ("endsByEpochMs", endsByEpochMs.map(JSONText.integer))])
    }
}

extension StepInvocation {
    var json: JSONText {
        .members([
            ("executable", .string(executable)), ("arguments", .strings(arguments)),
            ("checkedArguments", .array(checkedArguments.map { .integer(Int64($0)) })),
            ("environment", .object(environment.mapValues(JSONText.string))),
            ("timeoutMs", .integer(Int64(timeoutMs))), ("retries", .integer(Int64(retries))),
            ("script", .string(script)),
        ])
    }
}
