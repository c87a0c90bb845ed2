import ArgumentParser

@main
struct HolonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holon",
        abstract: "Autonomous DDoS detection and mitigation with vector symbolic algebra.",
        subcommands: [
            DemoCommand.self,
            AnalyzeCommand.self,
            ScenarioCommand.self,
            BenchCommand.self,
            PcapCommand.self,
            LabCommand.self,
            FilterCommand.self,
            RulesCommand.self,
            CaptureCommand.self,
            GenerateCommand.self,
            RunCommand.self,
            ConfigCommand.self,
            ServiceCommand.self,
            BaselineCommand.self,
        ]
    )
}
