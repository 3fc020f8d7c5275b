import ArgumentParser

@main
struct P1MQTTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "p1mqtt", abstract: "P1 smart meter to MQTT")
}
