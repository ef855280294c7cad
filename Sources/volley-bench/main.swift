// volley-bench: the benchmarks whose figures the README quotes. Run release builds only:
//   swift run -c release volley-bench stats
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "stats":
    StatsBenchmark().run()
case "codec":
    CodecBenchmark().run()
case "control":
    ControlPlaneBenchmark().run()
case "release":
    ReleaseBenchmark().run()
case "report":
    ReportBenchmark().run()
case "delivery":
    DeliveryBenchmark().run()
default:
    print("""
    usage: volley-bench stats      record, merge, encode and decode cost of the HDR histogram
           volley-bench codec      WebSocket frame codec cost per 32-byte frame
           volley-bench control    stats report size per agent-second; merge time for 100 agents
           volley-bench release    how late and how spread event loops act at a named instant
           volley-bench report     writing, reading back and rendering a one-hour run's results
           volley-bench delivery   memory and time of delivery completeness at scale
    """)
}
