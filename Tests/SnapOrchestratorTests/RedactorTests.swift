import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Every shape of secret the redactor must mask, each with the text that must survive around it.
@Suite struct RedactorTests {
    /// (input, the secret that must be gone, text that must stay).
    static let forms: [(String, String, String)] = [
        ("password: Hunter2x", "Hunter2x", "password:"),
        ("db:\n  password:   'Quoted Secret'\n", "Quoted Secret", "db:"),
        (#"{"password": "JsonSecret1"}"#, "JsonSecret1", #"{"password":"#),
        ("mysql -uroot -pShortOpt9 -h db", "ShortOpt9", "-uroot"),
        ("mariadb-dump -p'Quoted9' db", "Quoted9", "mariadb-dump"),
        ("pg_dump --password LongOpt7 app", "LongOpt7", "pg_dump"),
        ("mysqladmin --password=EqOpt5 ping", "EqOpt5", "ping"),
        ("CREATE USER 'bk'@'%' IDENTIFIED BY 'SqlSecret3';", "SqlSecret3", "CREATE USER"),
        ("ALTER USER bk IDENTIFIED WITH mysql_native_password BY 'Plug1n'", "Plug1n", "ALTER USER"),
        ("ALTER ROLE backup WITH PASSWORD 'PgRole8'", "PgRole8", "ALTER ROLE"),
        ("SET PASSWORD FOR bk = PASSWORD('Old5ql')", "Old5ql", "SET PASSWORD"),
        ("PGPASSWORD=PgEnv4 psql -c 'select 1'", "PgEnv4", "psql"),
        ("export MYSQL_PWD=MyEnv6; mysql", "MyEnv6", "export"),
        ("DB_PASSWORD=DbEnv2 ./start", "DbEnv2", "./start"),
        ("curl -H 'Authorization: Bearer eyJhbGciOi.J9x-y_z' host", "eyJhbGciOi.J9x-y_z", "curl"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Authorization:"),
        (
            "<Error><Code>AuthenticationFailed</Code><Message>https://a.blob/c/d?sv=2021&sig=Sig%2Bnature%3D</Message>",
            "Sig%2Bnature", "AuthenticationFailed",
        ),
        ("redirect to https%3A%2F%2Fx%3Fsig%3DEncodedSig12%26se", "EncodedSig12", "redirect"),
        ("client_secret=Cs9&grant=x", "Cs9", "grant=x"),
        ("api_key: ApiKey77", "ApiKey77", "api_key:"),
        ("DATABASE_URL=postgresql://bk:UrlPw31@db/app", "UrlPw31", "@db/app"),
        ("connecting to mysql://root:UrlPw32@10.0.0.4:3306/shop", "UrlPw32", "@10.0.0.4:3306/shop"),
        ("DB_PASS=PassEnv33 ./start", "PassEnv33", "./start"),
        ("restic --pass=PassOpt34 backup", "PassOpt34", "backup"),
        ("gpg passphrase=Phrase35", "Phrase35", "gpg"),
        ("mariadb: unknown variable 'pasword=Typo36Secret'", "Typo36Secret", "unknown variable 'pasword="),
        ("mysqldump: unknown option '--passwrd=Typo37'", "Typo37", "unknown option '--passwrd="),
    ]

    /// The patterns are compiled once per process; a pattern that does not compile would mask
    /// nothing, silently: every one must compile.
    /// The keyword pre-check never hides a secret: every form that must be masked passes it, and
    /// also when written in upper case (the patterns ignore case).
    @Test func theKeywordCheckLetsEverySecretShapeThrough() {
        for (input, secret, _) in Self.forms {
            #expect(SecretPatterns.mayMatch(input), "\(input)")
            #expect(SecretPatterns.mayMatch(input.uppercased()), "\(input)")
            #expect(!Redactor().redact(input).contains(secret), "\(input)")
        }
        #expect(!SecretPatterns.mayMatch("snapshot taken in 12 ms\n"))
    }

    @Test func everySecretPatternCompiles() {
        #expect(SecretPatterns.compiled.invalid.isEmpty)
        #expect(SecretPatterns.compiled.all.count == SecretPatterns.all.count)
        #expect(SecretPatterns.compiled.mysqlClient != nil && SecretPatterns.compiled.mysqlShortPassword != nil)
    }

    @Test(arguments: 0..<forms.count)
    func aSecretFormIsMasked(_ index: Int) {
        let (input, secret, kept) = Self.forms[index]
        let out = Redactor().redact(input)
        #expect(!out.contains(secret), "'\(secret)' survived in: \(out)")
        #expect(out.contains(kept), "'\(kept)' was lost: \(out)")
        #expect(out.contains("***"))
    }

    /// Ordinary text keeps its meaning: no secret shape, nothing masked.
    @Test(arguments: [
        "mkdir -p /var/lib/x && find . -print", "FLUSH TABLES WITH READ LOCK", "no password was given",
        "HTTP 503 ServerBusy after 3 attempt(s)", "snapshot=2026-11-26T00:00:00.0000000Z",
        "bypass=1 compass=north", "see https://example.com/docs?x=1 for more",
        "unknown option '--verbose'",
        "ERROR 1045 (28000): Access denied for user 'bk'@'localhost' (using password: YES)",
        "ERROR 1045 (28000): Access denied for user 'bk'@'localhost' (using password: NO)",
    ])
    func ordinaryTextIsKept(_ text: String) {
        #expect(Redactor().redact(text) == text)
    }
}
