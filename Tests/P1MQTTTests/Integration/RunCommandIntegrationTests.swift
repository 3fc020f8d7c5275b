import Foundation
import Testing
import P1MQTTTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The spawned-child helper itself: the whole point of it is that SIGTERM reaches the child.
@Suite("Integration: ChildProcess")
struct ChildProcessIntegrationTests {
    @Test("a child spawned from Swift Testing runs with an empty signal mask and dies of SIGTERM")
    func sigtermReachesTheChild() async throws {
        let directory = try makeTemporaryDirectory(prefix: "p1mqtt-child")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try ChildProcess(executable: "/bin/sleep", arguments: ["30"], directory: directory)
        defer { child.kill() }
        // /proc/PID/comm names the new program once exec has happened.
        await eventually(timeout: .seconds(2)) {
            (try? String(contentsOfFile: "/proc/\(child.pid)/comm", encoding: .utf8))?.hasPrefix("sleep") == true
        }
        #expect(child.blockedSignals == 0, "the child must start with nothing blocked")
        child.terminate()
        let termination = await child.waitForExit(timeout: .seconds(3))
        #expect(termination == .signalled(SIGTERM))
    }

    @Test("exit status, standard input pipe and output files")
    func statusInputAndOutput() async throws {
        let directory = try makeTemporaryDirectory(prefix: "p1mqtt-child")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "cat; echo oops >&2; exit 3"],
                                     directory: directory, input: .pipe)
        try child.writeInput(Array("hello\n".utf8))
        child.closeInput()
        let termination = await child.waitForExit(timeout: .seconds(3))
        if termination == nil { await child.killAndWait() }
        #expect(termination == .exited(3))
        #expect(child.stdout == "hello\n")
        #expect(child.stderr == "oops\n")
    }
}

/// `p1mqtt run` end to end: the real executable, a real mosquitto on 127.0.0.1, `mosquitto_sub` as the
/// subscriber.
@Suite("Integration: p1mqtt run against a real broker", .serialized,
       .enabled(if: BrokerFixture.isAvailable, "needs mosquitto and mosquitto-clients"),
       .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable (swift build --build-tests)"))
struct RunCommandIntegrationTests {
    // MARK: - Replaying a file

    @Test("dsmr5.txt: every value retained on its topic, the telegram JSON, status offline after exit", .timeLimit(.minutes(1)))
    func replayDSMR5() async throws {
        let broker = try BrokerFixture()
        let run = try P1MQTTRun(["--source", "file:" + P1MQTTExecutable.example("dsmr5.txt"), "--rate", "max",
                                 "--exit-at-end", "--broker", "127.0.0.1:\(broker.port)"])
        let termination = await run.child.waitForExit(timeout: .seconds(15))
        #expect(termination == .exited(0), "\(run.diagnostics)")

        let state = try await broker.retained()
        let expected: [String: String] = [
            "p1mqtt/energy_import_tariff_1": "7481.295",
            "p1mqtt/energy_import_tariff_2": "6930.842",
            "p1mqtt/energy_export_tariff_1": "1204.773",
            "p1mqtt/energy_export_tariff_2": "2617.058",
            "p1mqtt/power_import": "0.000",
            "p1mqtt/power_export": "2.318",
            "p1mqtt/voltage_l1": "236.4",
            "p1mqtt/voltage_l2": "235.9",
            "p1mqtt/voltage_l3": "237.1",
            "p1mqtt/current_l1": "4",
            "p1mqtt/current_l2": "3",
            "p1mqtt/power_export_l1": "0.846",
            "p1mqtt/tariff_indicator": "low",
            "p1mqtt/timestamp": "2021-06-14T06:35:12Z",
            "p1mqtt/equipment_id": "E0051004871239517",
            "p1mqtt/short_power_failures": "9",
            "p1mqtt/long_power_failures": "3",
            "p1mqtt/gas_1/reading": "2891.406",
            "p1mqtt/gas_1/reading_time": "2021-06-14T06:30:05Z",
            "p1mqtt/gas_1/equipment_id": "G0051004871239517",
            "p1mqtt/status": "offline",
        ]
        for (topic, payload) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(state[topic] == payload, "retained \(topic)")
        }

        let json = try #require(state["p1mqtt/telegram"], "retained p1mqtt/telegram; broker log:\n\(broker.logTail)")
        let telegram = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(telegram["variant"] as? String == "dsmr5")
        #expect(telegram["crc"] as? String == "valid")
        #expect(telegram["timestamp"] as? String == "2021-06-14T06:35:12Z")
        #expect(telegram["equipment_id"] as? String == "E0051004871239517")
        let objects = try #require(telegram["objects"] as? [String: Any])
        func value(_ code: String) -> Any? { (objects[code] as? [String: Any])?["value"] }
        #expect(jsonNumber(value("1-0:1.8.1")) == 7481.295)
        #expect(jsonNumber(value("1-0:1.8.2")) == 6930.842)
        #expect(jsonNumber(value("1-0:2.8.1")) == 1204.773)
        #expect(jsonNumber(value("1-0:2.8.2")) == 2617.058)
        #expect(jsonNumber(value("1-0:1.7.0")) == 0)
        #expect(jsonNumber(value("1-0:32.7.0")) == 236.4)
        #expect(jsonNumber(value("1-0:31.7.0")) == 4)
        #expect(value("0-0:96.14.0") as? String == "0001")
        #expect(value("0-0:96.1.1") as? String == "E0051004871239517")
        let mbus = try #require(telegram["mbus"] as? [[String: Any]])
        #expect(mbus.count == 1)
        let gas = try #require(mbus.first)
        #expect(gas["channel"] as? Int == 1)
        #expect(gas["kind"] as? String == "gas")
        #expect(jsonNumber(gas["value"]) == 2891.406)
        #expect(gas["timestamp"] as? String == "2021-06-14T06:30:05Z")
        #expect(gas["equipment_id"] as? String == "G0051004871239517")
    }

    @Test("belgium.txt: gas_1 and water_2 readings, peak demand, swapped tariff names", .timeLimit(.minutes(1)))
    func replayBelgium() async throws {
        let broker = try BrokerFixture()
        let run = try P1MQTTRun(["--source", "file:" + P1MQTTExecutable.example("belgium.txt"), "--rate", "max",
                                 "--exit-at-end", "--broker", "127.0.0.1:\(broker.port)"])
        let termination = await run.child.waitForExit(timeout: .seconds(15))
        #expect(termination == .exited(0), "\(run.diagnostics)")

        let state = try await broker.retained()
        let expected: [String: String] = [
            "p1mqtt/energy_import_tariff_1": "4217.882",
            "p1mqtt/energy_import_tariff_2": "3561.409",
            "p1mqtt/energy_export_tariff_1": "1871.226",
            "p1mqtt/energy_export_tariff_2": "702.918",
            // Belgian meters number the tariffs the other way: 0002 is the low (night) tariff.
            "p1mqtt/tariff_indicator": "low",
            "p1mqtt/power_import": "0.412",
            "p1mqtt/voltage_l1": "231.6",
            "p1mqtt/current_l1": "1.02",
            "p1mqtt/average_demand": "1.264",
            "p1mqtt/peak_demand_month": "4.817",
            "p1mqtt/peak_demand_month_time": "2024-03-07T17:30:00Z",
            "p1mqtt/timestamp": "2024-03-18T18:41:27Z",
            "p1mqtt/equipment_id": "1SAG1100048217",
            "p1mqtt/gas_1/reading": "3817.264",
            "p1mqtt/gas_1/reading_time": "2024-03-18T18:40:00Z",
            "p1mqtt/gas_1/equipment_id": "7ITR2021045519",
            "p1mqtt/water_2/reading": "284.117",
            "p1mqtt/water_2/reading_time": "2024-03-18T18:35:00Z",
            "p1mqtt/water_2/equipment_id": "8SEN0031882744",
            "p1mqtt/status": "offline",
        ]
        for (topic, payload) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(state[topic] == payload, "retained \(topic)")
        }
        let history = try #require(state["p1mqtt/peak_demand_history"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(history.utf8)) as? [[String: Any]])
        #expect(entries.count == 13)
        #expect(jsonNumber(entries.last?["value"]) == 5.472)

        let json = try #require(state["p1mqtt/telegram"], "retained p1mqtt/telegram; broker log:\n\(broker.logTail)")
        let telegram = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(telegram["variant"] as? String == "belgium")
        let objects = try #require(telegram["objects"] as? [String: Any])
        #expect(jsonNumber((objects["1-0:1.8.1"] as? [String: Any])?["value"]) == 4217.882)
        let mbus = try #require(telegram["mbus"] as? [[String: Any]])
        #expect(mbus.map { $0["kind"] as? String } == ["gas", "water"])
        #expect(mbus.map { jsonNumber($0["value"]) } == [3817.264, 284.117])
    }

    @Test("topics.rename in a configuration file moves one value, and only that one", .timeLimit(.minutes(1)))
    func renameFromConfigurationFile() async throws {
        let broker = try BrokerFixture()
        let directory = try makeTemporaryDirectory(prefix: "p1mqtt-run")
        let config = try writeFile(#"{"topics": {"rename": {"energy_import_tariff_1": "import/low"}}}"#,
                                   named: "p1mqtt.json", in: directory)
        let run = try P1MQTTRun(["--config", config, "--source", "file:" + P1MQTTExecutable.example("dsmr5.txt"),
                                 "--rate", "max", "--exit-at-end", "--broker", "127.0.0.1:\(broker.port)"],
                                directory: directory)
        let termination = await run.child.waitForExit(timeout: .seconds(15))
        #expect(termination == .exited(0), "\(run.diagnostics)")

        let state = try await broker.retained()
        #expect(state["p1mqtt/import/low"] == "7481.295", "retained: \(state.keys.sorted())\nbroker log:\n\(broker.logTail)")
        #expect(state["p1mqtt/energy_import_tariff_1"] == nil, "the renamed value must not also be on its default topic")
        #expect(state["p1mqtt/energy_import_tariff_2"] == "6930.842")
        #expect(state["p1mqtt/gas_1/reading"] == "2891.406")
        #expect(state["p1mqtt/status"] == "offline")
    }

    @Test("--base-topic home/meter moves every topic, status and telegram included", .timeLimit(.minutes(1)))
    func baseTopic() async throws {
        let broker = try BrokerFixture()
        let run = try P1MQTTRun(["--base-topic", "home/meter", "--source", "file:" + P1MQTTExecutable.example("dsmr5.txt"),
                                 "--rate", "max", "--exit-at-end", "--broker", "127.0.0.1:\(broker.port)"])
        let termination = await run.child.waitForExit(timeout: .seconds(15))
        #expect(termination == .exited(0), "\(run.diagnostics)")

        let state = try await broker.retained(topic: "#")
        #expect(state["home/meter/energy_import_tariff_1"] == "7481.295", "broker log:\n\(broker.logTail)")
        #expect(state["home/meter/gas_1/reading"] == "2891.406")
        #expect(state["home/meter/status"] == "offline")
        #expect(state["home/meter/telegram"] != nil)
        // Home Assistant discovery stays under its own prefix, but must point at the moved topics.
        let elsewhere = state.keys.filter { !$0.hasPrefix("home/meter/") && !$0.hasPrefix("homeassistant/") }.sorted()
        #expect(elsewhere.isEmpty, "topics outside home/meter/: \(elsewhere)")
        for (topic, payload) in state where topic.hasPrefix("homeassistant/") && !payload.isEmpty {
            let config = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] ?? [:]
            for key in ["stat_t", "state_topic", "avty_t", "availability_topic", "json_attr_t"] {
                if let target = config[key] as? String {
                    #expect(target.hasPrefix("home/meter/"), "\(topic): \(key) = \(target)")
                }
            }
        }
    }

    // MARK: - Availability

    @Test("status: online while running, offline (retained) after SIGTERM, exit 0", .timeLimit(.minutes(1)))
    func availabilityWithSIGTERM() async throws {
        let broker = try BrokerFixture()
        let run = try P1MQTTRun(["--source", "simulator", "--broker", "127.0.0.1:\(broker.port)"])
        let online = try await broker.retained(within: .seconds(10)) { $0["p1mqtt/status"] == "online" }
        try #require(online["p1mqtt/status"] == "online", "\(run.diagnostics)")
        #expect(online["p1mqtt/energy_import_tariff_1"] != nil)
        #expect(run.child.blockedSignals == 0, "p1mqtt must run with nothing blocked, or SIGTERM cannot reach it")

        let start = ContinuousClock.now
        run.child.terminate()
        let termination = await run.child.waitForExit(timeout: .seconds(5))
        #expect(termination == .exited(0), "\(run.diagnostics)")
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(run.stderrLines(containing: "shutting down").count == 1, "\(run.diagnostics)")

        let after = try await broker.retained()
        #expect(after["p1mqtt/status"] == "offline")
        // The state stays on the broker for subscribers arriving later.
        #expect(after["p1mqtt/energy_import_tariff_1"] != nil)
    }

    @Test("status: the broker publishes the last will offline at once when p1mqtt is killed", .timeLimit(.minutes(1)))
    func lastWillOnSIGKILL() async throws {
        let broker = try BrokerFixture()
        let run = try P1MQTTRun(["--source", "simulator", "--broker", "127.0.0.1:\(broker.port)"])
        let subscriber = try broker.startSubscriber(topic: "p1mqtt/status", count: 100)
        let seenOnline = await subscriber.waitFor(timeout: .seconds(10)) { $0.contains { $0.payload == "online" } }
        try #require(seenOnline.contains { $0.payload == "online" }, "\(run.diagnostics)")

        run.child.kill()
        let termination = await run.child.waitForExit(timeout: .seconds(3))
        #expect(termination == .signalled(SIGKILL))
        // The keepalive is 30 s: an offline within 3 s comes from the broker seeing the socket close.
        let messages = await subscriber.waitFor(timeout: .seconds(3)) { messages in
            messages.drop { $0.payload != "online" }.contains { $0.payload == "offline" }
        }
        _ = await subscriber.waitForExit(timeout: .zero)
        #expect(messages.drop { $0.payload != "online" }.contains { $0.payload == "offline" },
                "messages on p1mqtt/status: \(messages)\n\(broker.logTail)")
        let state = try await broker.retained(topic: "p1mqtt/status")
        #expect(state["p1mqtt/status"] == "offline", "the last will is retained")
    }

    // MARK: - Broker restart

    @Test("broker restarted without persistence: the latest state is back within 10 s, p1mqtt untouched", .timeLimit(.minutes(1)))
    func brokerRestart() async throws {
        let broker = try BrokerFixture()
        // --min-interval 60: after the first telegram no register is published again during the test, so a
        // register back on the restarted broker can only come from p1mqtt putting its state back after the
        // reconnect (the simulator still sends one telegram per second; the telegram topic is not throttled).
        let run = try P1MQTTRun(["--source", "simulator", "--min-interval", "60", "--broker", "127.0.0.1:\(broker.port)"])
        let before = try await broker.retained(within: .seconds(10)) {
            $0["p1mqtt/status"] == "online" && $0["p1mqtt/energy_import_tariff_1"] != nil
        }
        let register = try #require(before["p1mqtt/energy_import_tariff_1"], "\(run.diagnostics)")

        // SIGKILL and start again on the same port: `persistence false`, so every retained message is gone.
        try broker.restart()

        let after = try await broker.retained(within: .seconds(10)) {
            $0["p1mqtt/status"] == "online" && $0["p1mqtt/energy_import_tariff_1"] != nil
                && $0["p1mqtt/gas_1/reading"] != nil
        }
        #expect(after["p1mqtt/status"] == "online", "\(run.diagnostics)")
        #expect(after["p1mqtt/energy_import_tariff_1"] == register)
        #expect(after["p1mqtt/gas_1/reading"] == before["p1mqtt/gas_1/reading"])
        #expect(run.child.isRunning, "\(run.diagnostics)")

        run.child.terminate()
        #expect(await run.child.waitForExit(timeout: .seconds(5)) == .exited(0), "\(run.diagnostics)")
    }

    // MARK: - Refused credentials

    @Test("wrong password: one clear log line, keeps running, connects by itself once the broker accepts it", .timeLimit(.minutes(1)))
    func wrongPasswordThenAccepted() async throws {
        let broker = try BrokerFixture(.init(users: ["p1": "right-password"]))
        let directory = try makeTemporaryDirectory(prefix: "p1mqtt-run")
        let passwordFile = try writeFile("wrong-password\n", named: "password", in: directory)
        let run = try P1MQTTRun(["--source", "simulator", "--broker", "127.0.0.1:\(broker.port)", "--username", "p1",
                                 "--password-file", passwordFile], directory: directory)

        // Several attempts happen in 5 s (backoff from 1 s); the refusal is logged once.
        try await Task.sleep(for: .seconds(5))
        let refusals = run.stderrLines(containing: "not authorised") + run.stderrLines(containing: "bad username or password")
        #expect(refusals.count == 1, "\(run.diagnostics)")
        #expect(run.stderrLines(containing: "cannot connect").count == 1, "\(run.diagnostics)")
        #expect(run.child.isRunning, "\(run.diagnostics)")
        #expect(broker.log.components(separatedBy: "not authorised").count - 1 >= 2,
                "p1mqtt should retry with backoff; broker log:\n\(broker.log)")

        // The administrator fixes the broker's password file: p1mqtt connects without being restarted.
        try broker.restart(with: .init(users: ["p1": "wrong-password"]))
        let state = try await broker.retained(within: .seconds(25), username: "p1", password: "wrong-password") {
            $0["p1mqtt/status"] == "online" && $0["p1mqtt/energy_import_tariff_1"] != nil
        }
        #expect(state["p1mqtt/status"] == "online", "\(run.diagnostics)")
        #expect(state["p1mqtt/energy_import_tariff_1"] != nil)
        #expect(run.stderrLines(containing: "MQTT: connected to").count == 1, "\(run.diagnostics)")

        run.child.terminate()
        #expect(await run.child.waitForExit(timeout: .seconds(5)) == .exited(0), "\(run.diagnostics)")
    }

    // MARK: - Throttling

    @Test("--min-interval 3: power_import about every 3 s, the telegram topic every second", .timeLimit(.minutes(1)))
    func throttle() async throws {
        let broker = try BrokerFixture()
        let subscriber = try broker.startSubscriber(topic: "p1mqtt/#", count: 100_000)
        // Let mosquitto_sub subscribe before anything is published.
        try await Task.sleep(for: .milliseconds(300))
        let run = try P1MQTTRun(["--source", "simulator", "--min-interval", "3", "--broker", "127.0.0.1:\(broker.port)"])
        let first = await subscriber.waitFor(timeout: .seconds(10)) { $0.contains { $0.topic == "p1mqtt/telegram" } }
        try #require(first.contains { $0.topic == "p1mqtt/telegram" }, "\(run.diagnostics)")
        try await Task.sleep(for: .seconds(7))
        let messages = subscriber.messages
        _ = await subscriber.waitForExit(timeout: .zero)
        run.child.terminate()
        #expect(await run.child.waitForExit(timeout: .seconds(5)) == .exited(0), "\(run.diagnostics)")

        let power = messages.filter { $0.topic == "p1mqtt/power_import" }
        let telegrams = messages.filter { $0.topic == "p1mqtt/telegram" }
        #expect((2...4).contains(power.count), "power_import messages in ~7 s: \(power)")
        #expect((6...9).contains(telegrams.count), "telegram messages in ~7 s: \(telegrams.count)")
        // The first value is published at once, with the first telegram.
        let firstPower = try #require(messages.firstIndex { $0.topic == "p1mqtt/power_import" })
        let secondTelegram = messages.indices.filter { messages[$0].topic == "p1mqtt/telegram" }.dropFirst().first
        #expect(firstPower < (secondTelegram ?? messages.endIndex), "power_import must come with the first telegram")
        for message in power { #expect(Double(message.payload) != nil, "power_import payload \(message.payload)") }
    }

    // MARK: - Standard input

    @Test("stdin: two telegrams piped at once, then end of input: the latest values are retained", .timeLimit(.minutes(1)))
    func standardInputPipedAtOnce() async throws {
        let broker = try BrokerFixture()
        let (first, second) = try Self.twoTelegrams()
        // Like `cat a b | p1mqtt run --source - --exit-at-end` where cat has finished before p1mqtt starts: the
        // input is complete and ends at once, before the MQTT connection is up.
        let run = try P1MQTTRun(["--source", "-", "--exit-at-end", "--broker", "127.0.0.1:\(broker.port)"],
                                input: .bytes(first + second))
        let termination = await run.child.waitForExit(timeout: .seconds(15))
        #expect(termination == .exited(0), "\(run.diagnostics)")
        try await Self.expectSecondTelegramRetained(broker, run)
    }

    @Test("stdin: input complete before a slow broker answers: p1mqtt waits for it, the latest values are retained", .timeLimit(.minutes(1)))
    func standardInputEndsBeforeTheBrokerAnswers() async throws {
        let broker = try BrokerFixture()
        let (first, second) = try Self.twoTelegrams()
        let brokerPID = try #require(broker.processID, "cannot find the broker's process")
        // A stopped broker: the TCP connect succeeds (the kernel accepts it), CONNACK comes only after SIGCONT.
        kill(brokerPID, SIGSTOP)
        let run: P1MQTTRun
        do {
            defer { kill(brokerPID, SIGCONT) }
            run = try P1MQTTRun(["--source", "-", "--exit-at-end", "--broker", "127.0.0.1:\(broker.port)"],
                                input: .bytes(first + second))
            try await Task.sleep(for: .seconds(1))
        }
        let termination = await run.child.waitForExit(timeout: .seconds(15))
        #expect(termination == .exited(0), "\(run.diagnostics)")
        try await Self.expectSecondTelegramRetained(broker, run)
    }

    @Test("stdin: telegrams streamed one after the other: each is published, the latest stays retained", .timeLimit(.minutes(1)))
    func standardInputStreamed() async throws {
        let broker = try BrokerFixture()
        let (first, second) = try Self.twoTelegrams()
        let run = try P1MQTTRun(["--source", "-", "--exit-at-end", "--broker", "127.0.0.1:\(broker.port)"], input: .pipe)
        try run.child.writeInput(first)
        let afterFirst = try await broker.retained(within: .seconds(10)) {
            $0["p1mqtt/energy_import_tariff_1"] == "7481.295"
        }
        #expect(afterFirst["p1mqtt/energy_import_tariff_1"] == "7481.295", "\(run.diagnostics)")
        #expect(afterFirst["p1mqtt/status"] == "online")
        try run.child.writeInput(second)
        run.child.closeInput()
        let termination = await run.child.waitForExit(timeout: .seconds(15))
        #expect(termination == .exited(0), "\(run.diagnostics)")
        try await Self.expectSecondTelegramRetained(broker, run)
    }

    /// dsmr5.txt, and the same meter 10 s later with higher registers and another power.
    private static func twoTelegrams() throws -> ([UInt8], [UInt8]) {
        let first = try P1MQTTExecutable.exampleBytes("dsmr5.txt")
        let second = try IntegrationTelegrams.dsmr5(replacing: [
            "0-0:1.0.0": "0-0:1.0.0(210614083522S)",
            "1-0:1.8.1": "1-0:1.8.1(007481.300*kWh)",
            "1-0:1.7.0": "1-0:1.7.0(01.234*kW)",
            "1-0:2.7.0": "1-0:2.7.0(00.000*kW)",
            "0-0:96.14.0": "0-0:96.14.0(0002)",
        ])
        return (first, second)
    }

    private static func expectSecondTelegramRetained(_ broker: BrokerFixture, _ run: P1MQTTRun) async throws {
        let state = try await broker.retained()
        #expect(state["p1mqtt/energy_import_tariff_1"] == "7481.300", "\(run.diagnostics)")
        #expect(state["p1mqtt/energy_import_tariff_2"] == "6930.842")
        #expect(state["p1mqtt/power_import"] == "1.234")
        #expect(state["p1mqtt/power_export"] == "0.000")
        #expect(state["p1mqtt/tariff_indicator"] == "normal")
        #expect(state["p1mqtt/timestamp"] == "2021-06-14T06:35:22Z")
        #expect(state["p1mqtt/gas_1/reading"] == "2891.406")
        #expect(state["p1mqtt/status"] == "offline")
        let json = try #require(state["p1mqtt/telegram"], "retained p1mqtt/telegram; broker log:\n\(broker.logTail)")
        let telegram = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(telegram["timestamp"] as? String == "2021-06-14T06:35:22Z")
        #expect(telegram["crc"] as? String == "valid")
    }
}
