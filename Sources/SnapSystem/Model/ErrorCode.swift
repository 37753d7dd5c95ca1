/// The numeric error codes of the Azure VMSnapshot extension (reference §7) that a run can raise.
package enum ErrorCode: Int, Sendable, Hashable, Codable, CaseIterable {
    case success = 1
    case generic = 2
    case fsFreezeFailed = 121
    case fsFreezeTimeout = 122
    case unableToOpenMount = 123
    case snapshotFailedNoNetwork = 76
    case snapshotFailedRestrictedNetwork = 761
    case snapshotLimitReached = 85
    case snapshotRateExceeded = 173
    case prepostPreScriptFailed = 300
    case prepostPostScriptFailed = 301
    case prepostPreScriptNotFound = 302
    case prepostPostScriptNotFound = 303
    case prepostPreScriptPermissionError = 306
    case prepostPostScriptPermissionError = 307
    case prepostPluginhostConfigParsing = 304
    case prepostPluginConfigParsing = 305
    case prepostPluginhostConfigNotFound = 313
    case prepostPluginhostConfigPermissionError = 314
    case prepostPluginConfigNotFound = 316
    case prepostPluginConfigPermissionError = 317
    case prepostPluginhostConfigOwnershipError = 315
    case prepostPluginConfigOwnershipError = 318
    case prepostPreScriptTimeout = 308
    case prepostPostScriptTimeout = 309
    case prepostPluginhostPreTimeout = 310
    case prepostPluginhostPostTimeout = 311
    case workloadPreError = 500
    case workloadInvalidWorkloadName = 503
    case workloadPostError = 504
    case workloadAuthorizationMissing = 505
    case workloadConnectionError = 506
    case workloadQuiescingTimeout = 510
    /// A split-phase run whose `end` did not come within its lease (snaporch's own code).
    case splitLeaseExpired = 601
    /// `snaporch end --snapshot-failed`: the platform says its snapshot failed (snaporch's own code).
    case splitPlatformSnapshotFailed = 602
    /// The holder of a split-phase run died; `end` or `recover` finished its duties (snaporch's own code).
    case splitHolderDied = 603

    /// Codes that classify a failed snapshot call (76 all failed, 85 limit reached, 173 rate exceeded).
    package static let snapshotFailures: Set<ErrorCode> = [
        .snapshotFailedNoNetwork, .snapshotLimitReached, .snapshotRateExceeded,
    ]

    /// True for the pre/post plugin framework's codes (300–318).
    package var isPrepost: Bool { (300...318).contains(rawValue) }

    /// The name used by the original extension.
    package var name: String {
        switch self {
        case .success: return "success"
        case .generic: return "error"
        case .fsFreezeFailed: return "FailedRetryableFsFreezeFailed"
        case .fsFreezeTimeout: return "FailedRetryableFsFreezeTimeout"
        case .unableToOpenMount: return "FailedRetryableUnableToOpenMount"
        case .snapshotFailedNoNetwork: return "FailedRetryableSnapshotFailedNoNetwork"
        case .snapshotFailedRestrictedNetwork: return "FailedRetryableSnapshotFailedRestrictedNetwork"
        case .snapshotLimitReached: return "FailedSnapshotLimitReached"
        case .snapshotRateExceeded: return "FailedRetryableSnapshotRateExceeded"
        case .prepostPreScriptFailed: return "FailedPrepostPreScriptFailed"
        case .prepostPostScriptFailed: return "FailedPrepostPostScriptFailed"
        case .prepostPreScriptNotFound: return "FailedPrepostPreScriptNotFound"
        case .prepostPostScriptNotFound: return "FailedPrepostPostScriptNotFound"
        case .prepostPreScriptPermissionError: return "FailedPrepostPreScriptPermissionError"
        case .prepostPostScriptPermissionError: return "FailedPrepostPostScriptPermissionError"
        case .prepostPluginhostConfigParsing: return "FailedPrepostPluginhostConfigParsing"
        case .prepostPluginConfigParsing: return "FailedPrepostPluginConfigParsing"
        case .prepostPluginhostConfigNotFound: return "FailedPrepostPluginhostConfigNotFound"
        case .prepostPluginhostConfigPermissionError: return "FailedPrepostPluginhostConfigPermissionError"
        case .prepostPluginConfigNotFound: return "FailedPrepostPluginConfigNotFound"
        case .prepostPluginConfigPermissionError: return "FailedPrepostPluginConfigPermissionError"
        case .prepostPluginhostConfigOwnershipError: return "FailedPrepostPluginhostConfigOwnershipError"
        case .prepostPluginConfigOwnershipError: return "FailedPrepostPluginConfigOwnershipError"
        case .prepostPreScriptTimeout: return "FailedPrepostPreScriptTimeout"
        case .prepostPostScriptTimeout: return "FailedPrepostPostScriptTimeout"
        case .prepostPluginhostPreTimeout: return "FailedPrepostPluginhostPreTimeout"
        case .prepostPluginhostPostTimeout: return "FailedPrepostPluginhostPostTimeout"
        case .workloadPreError: return "FailedWorkloadPreError"
        case .workloadPostError: return "FailedWorkloadPostError"
        case .workloadInvalidWorkloadName: return "FailedWorkloadInvalidWorkloadName"
        case .workloadAuthorizationMissing: return "FailedWorkloadAuthorizationMissing"
        case .workloadConnectionError: return "FailedWorkloadConnectionError"
        case .workloadQuiescingTimeout: return "FailedWorkloadQuiescingTimeout"
        case .splitLeaseExpired: return "FailedSplitLeaseExpired"
        case .splitPlatformSnapshotFailed: return "FailedSplitPlatformSnapshotFailed"
        case .splitHolderDied: return "FailedSplitHolderDied"
        }
    }
}
