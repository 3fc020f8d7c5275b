import Foundation
import Testing

@Suite("p1mqtt check-config")
struct CheckConfigCommandTests {
    private func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("p1mqtt-\(UUID().uuidString).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theDefaultConfigurationIsValidAndSecretsAreMasked() throws {
        let path = try write(#"{"mqtt": {"broker": "broker.local:1884", "username": "p1", "password": "hunter2"}, "meter": {"key": "000102030405060708090A0B0C0D0E0F"}}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try CommandRunner.run(["check-config", "--config", path])
        #expect(result.status == 0)
        #expect(result.stdout.contains("mqtt: broker.local:1884"))
        #expect(result.stdout.contains("keepalive 30 s, connect timeout 15 s, reconnect after 1–60 s"))
        #expect(result.stdout.contains("password ***"))
        #expect(result.stdout.contains("decryption key ***"))
        #expect(!result.stdout.contains("hunter2"))
        #expect(!result.stdout.contains("000102030405"))
        let shipped = try CommandRunner.run(["check-config", "--config", "config/p1mqtt.json"])
        #expect(shipped.status == 0)
        #expect(shipped.stdout.hasPrefix("config/p1mqtt.json: valid"))
    }

    @Test func everyProblemIsReportedOnItsOwnLineWithExitStatus2() throws {
        let path = try write(#"{"mqt": {}, "mqtt": {"keepalive": 1, "tls": {"ca_file": "/nonexistent/ca.pem"}}, "topics": {"qos": "1"}}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try CommandRunner.run(["check-config", "--config", path])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines == [
            #"p1mqtt: mqt: unknown setting; did you mean "mqtt"?"#,
            "p1mqtt: mqtt.keepalive: 1 is out of range (5…3600)",
            "p1mqtt: mqtt.tls.ca_file: file not found: /nonexistent/ca.pem",
            #"p1mqtt: topics.qos: expected a number, got "1""#,
        ])
    }

    @Test func aKeyWithANonHexCharacterIsNamedByCharacterAndPositionInTheFileAndTheFlag() throws {
        let path = try write(#"{"meter": {"key": "zz0102030405060708090A0B0C0D0E0F"}}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try CommandRunner.run(["check-config", "--config", path])
        #expect(file.status == 2)
        #expect(file.stderr.split(separator: "\n").map(String.init) == [
            "p1mqtt: meter.key: the decryption key must be 32 hexadecimal digits (16 bytes): 'z' at position 1 is not a hexadecimal digit",
        ])
        // Port 1 on loopback: the flag is refused before anything connects.
        let flag = try CommandRunner.run(["run", "--broker", "127.0.0.1:1", "--key", "0001020304050607z8090A0B0C0D0E0F"],
                                         timeout: 20)
        #expect(flag.status == 2)
        #expect(flag.stderr.contains("--key: the decryption key must be 32 hexadecimal digits (16 bytes): 'z' at position 17 is not a hexadecimal digit"),
                "\(flag.stderr)")
        #expect(!flag.stderr.contains("0001020304050607"), "the key's digits are a secret")
        let parse = try CommandRunner.run(["parse", "-", "--key", "zz0102030405060708090A0B0C0D0E0F"], input: [], timeout: 20)
        #expect(parse.status == 2)
        #expect(parse.stderr.contains("--key must be 32 hexadecimal digits (16 bytes): 'z' at position 1 is not a hexadecimal digit"),
                "\(parse.stderr)")
        #expect(!parse.stderr.contains("0102030405"), "the key's digits are a secret")
    }

    @Test func runRefusesABadConfigurationBeforeConnecting() throws {
        let path = try write(#"{"source": "file:/nonexistent/capture.txt"}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Port 1 on loopback: if p1mqtt tried to connect it would log a refusal; it must stop before that.
        let result = try CommandRunner.run(["run", "--config", path, "--broker", "127.0.0.1:1"], timeout: 20)
        #expect(result.status == 2)
        #expect(result.stderr.contains("source: cannot open /nonexistent/capture.txt"))
        #expect(!result.stderr.contains("MQTT"))
    }

    @Test func theSummaryShowsTheWebServerTheHistoryAndWhatIsOff() throws {
        let path = try write(#"{"http": {"listen": "8081", "token": "0123456789abcdef0"}, "history": {"data_dir": "/var/lib/p1mqtt"}, "topics": {"stats_interval": 0}, "replay": {"loop": true}}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try CommandRunner.run(["check-config", "--config", path])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("web: http://127.0.0.1:8081/, token ***, healthy within 60.0 s"))
        #expect(lines.contains("history: /var/lib/p1mqtt, keep 48 hours, 14 days, 24 months"))
        #expect(lines.contains { $0.hasPrefix("replay: ") && $0.contains("loop on; stats off;") })
        #expect(!result.stdout.contains("0123456789abcdef0"))
        let defaults = try CommandRunner.run(["check-config"])
        #expect(defaults.stdout.contains("web: off\nrelay: off\nhistory: off (nothing is written to disk)"))
    }

    @Test func flagsReplaceTheFilesSecretsWithoutReadingThem() throws {
        // What a service sees: the file names secrets it may not read, the unit gives its own on the command line.
        let config = try write(#"{"mqtt": {"password_file": "/nonexistent/mqtt-password"}, "meter": {"key_file": "/nonexistent/meter.key"}}"#)
        let password = try write("secret\n")
        defer {
            try? FileManager.default.removeItem(atPath: config)
            try? FileManager.default.removeItem(atPath: password)
        }
        let result = try CommandRunner.run(["run", "--config", config, "--password-file", password,
                                            "--key", "000102030405060708090A0B0C0D0E0F", "--broker", "none",
                                            "--source", "file:" + CommandRunner.example("dsmr5.txt"), "--exit-at-end"], timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("cannot read"))
        // Without the flags the same file is refused, naming the file and why.
        let refused = try CommandRunner.run(["run", "--config", config, "--broker", "none"], timeout: 30)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("mqtt.password_file: cannot read /nonexistent/mqtt-password: no such file"))
        #expect(refused.stderr.contains("meter.key_file: cannot read /nonexistent/meter.key: no such file"))
    }

    @Test func aFailingSourceIsReportedOnceAndExitsWithStatus1() throws {
        let result = try CommandRunner.run(["run", "--source", "serial:/dev/null", "--broker", "none"], timeout: 20)
        #expect(result.status == 1)
        #expect(result.stderr.components(separatedBy: "/dev/null is not a serial device").count - 1 == 1, "\(result.stderr)")
        // With the log quieter than errors, the reason still appears once, as the last line.
        let quiet = try CommandRunner.run(["run", "--source", "serial:/dev/null", "--broker", "none", "--log-level", "critical"], timeout: 20)
        #expect(quiet.status == 1)
        #expect(quiet.stderr.components(separatedBy: "/dev/null is not a serial device").count - 1 == 1, "\(quiet.stderr)")
    }
}
