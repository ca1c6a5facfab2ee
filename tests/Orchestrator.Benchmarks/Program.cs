using System.Globalization;
using Orchestrator.Benchmarks;

const string Usage = """
    Usage: dotnet run -c Release --project tests/Orchestrator.Benchmarks -- <mode> [options]
      fleet [--machines 100] [--runs 3] [--scale 1]
          machines created and started concurrently against the emulator at Fly's limits, against the floor
      exec [--runs 200]
          p50/p99 of `true`, interleaved: (a) OpenSSH new connection, (b) ControlMaster, (c) SSH.NET open connection
          (floor), (d) SshConnectionPool, (e) HTTP API exec (gateway -> SshSessionGrain -> pool), ratios to (c), (e) to (a)/(b)
      exec-output [--mib 64] [--runs 10]
          one command printing `mib` MiB read to the end, interleaved: (c) SSH.NET reading the command's own output
          stream (floor) and (d) SshConnectionPool (at most 1 MiB per stream ahead of the reader): medians, MiB/s, ratio
      exec-throughput [--instances 10] [--concurrency 20] [--rounds 5]
          execs of `true` through the HTTP API, `concurrency` in flight per instance: execs/s and p50/p99 per exec
      exec modes run on Linux only (machines are bubblewrap sandboxes with their own sshd)
      workflows [--runs 1000] [--steps 10] [--parallelism 100] [--hangfire-workers 20] [--hangfire-poll-ms 50] [--hangfire-long-polling true] [--orchestrator-only] [--output-kib 0[,64,...]]
          runs of a workflow of `steps` sleep steps of 0 s on PostgreSQL beside Hangfire.PostgreSql running the same
          chain as continuations, on one throwaway PostgreSQL server: steps/s, p50/p99 step-to-step, grain-state writes;
          each further --output-kib value measures the chain again as ssh.exec steps printing that many KiB (on a Fly
          emulator machine) and prints the checkpoint sizes and steps/s of every value side by side
      cli [--runs 20] [--aot PATH]
          cold wall time of `orch --version` and `orch instances list` (Native AOT binary, published first unless
          --aot names one, and the JIT build of src/Orchestrator.Cli), against curl making the same list call: medians
    """;

if (args.Length > 0 && args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return 0;
}

if (args.Length > 0 && args[0] is "exec" or "exec-throughput" or "exec-output" && !OperatingSystem.IsLinux())
{
    Console.Error.WriteLine(Usage);
    return 2;
}

if (args.Length > 0 && args[0] == "exec" && OperatingSystem.IsLinux())
{
    var execRuns = Option("--runs", 200);
    Console.WriteLine($"exec round trip of `true` on emulator machines (sandboxed sshd on loopback), {execRuns} runs each after {ExecBenchmark.WarmUps} warm-ups, methods interleaved round-robin");
    var report = await new ExecBenchmark(execRuns).RunAsync();
    var byLetter = report.Measured.ToDictionary(m => m.Name[..3], m => m.Result);
    var floor = byLetter["(c)"];
    foreach (var (name, result, cpu) in report.Measured)
    {
        var ratio = name.StartsWith('(') ? $"  p50/floor {result.P50 / floor.P50,7:0.00}x  p99/floor {result.P99 / floor.P99,7:0.00}x  cpu here {cpu,6:0.00} ms/run" : "";
        Console.WriteLine($"{name,-52} p50 {result.P50,8:0.00} ms  p99 {result.P99,8:0.00} ms{ratio}");
    }

    var (api, fresh, reused) = (byLetter["(e)"], byLetter["(a)"], byLetter["(b)"]);
    Console.WriteLine($"(e) HTTP API vs (a) OpenSSH new connection: p50 {api.P50 / fresh.P50:0.00}x  p99 {api.P99 / fresh.P99:0.00}x; vs (b) ControlMaster: p50 {api.P50 / reused.P50:0.00}x  p99 {api.P99 / reused.P99:0.00}x");
    return Teardown(report.SandboxProcesses, report.LeftOver) ? 0 : 1;
}

if (args.Length > 0 && args[0] == "exec-output" && OperatingSystem.IsLinux())
{
    var (outputRuns, mebibytes) = (Option("--runs", 10), Option("--mib", 64));
    Console.WriteLine($"bulk output: `head -c {mebibytes}MiB /dev/zero` on an emulator machine, {outputRuns} runs each after {ExecOutputBenchmark.WarmUps} warm-ups, interleaved");
    var medians = await new ExecOutputBenchmark(outputRuns, mebibytes).RunAsync();
    var floorMedian = medians[0].MedianMilliseconds;
    foreach (var (name, milliseconds) in medians)
    {
        Console.WriteLine($"{name,-52} median {milliseconds,9:0.0} ms  {mebibytes / (milliseconds / 1000),8:0.0} MiB/s  vs floor {milliseconds / floorMedian,5:0.00}x");
    }

    return 0;
}

if (args.Length > 0 && args[0] == "exec-throughput" && OperatingSystem.IsLinux())
{
    var (instances, concurrency, rounds) = (Option("--instances", 10), Option("--concurrency", 20), Option("--rounds", 5));
    Console.WriteLine($"exec-throughput: {instances} instances created through the API, {concurrency} concurrent execs of `true` on each ({instances * concurrency} in flight), {rounds} round(s) after 1 warm-up round");
    var report = await new ExecThroughputBenchmark(instances, concurrency, rounds).RunAsync(round =>
        Console.WriteLine($"round {round.Round}: {round.Execs} execs in {round.Elapsed.TotalSeconds:0.00} s, {round.Execs / round.Elapsed.TotalSeconds:0} execs/s, p50 {round.Latency.P50:0.00} ms  p99 {round.Latency.P99:0.00} ms, failures {round.Failures}"));
    foreach (var failure in report.Failures.Distinct().Take(5))
    {
        Console.WriteLine($"failure: {failure}");
    }

    Console.WriteLine($"{instances} instances created and started in {report.CreateElapsed.TotalSeconds:0.00} s");
    var busy = (report.CpuPerExec + report.SandboxCpuPerExec).TotalMilliseconds * report.Execs / report.Elapsed.TotalMilliseconds;
    Console.WriteLine($"cpu per exec: {report.CpuPerExec.TotalMilliseconds:0.00} ms in this process (client, gateway, silo, emulator), {report.SandboxCpuPerExec.TotalMilliseconds:0.00} ms in the machines (sshd, sessions, `true`); {busy:0.00} of {Environment.ProcessorCount} cores busy");
    Console.WriteLine($"total: {report.Execs} execs in {report.Elapsed.TotalSeconds:0.00} s, {report.Execs / report.Elapsed.TotalSeconds:0} execs/s; per exec p50 {report.Latency.P50:0.00} ms  p99 {report.Latency.P99:0.00} ms; failures {report.Failures.Count}");
    return Teardown(report.SandboxProcesses, report.LeftOver) && report.Failures.Count == 0 ? 0 : 1;
}

if (args.Length > 0 && args[0] == "cli")
{
    var cliRuns = Option("--runs", 20);
    var aotIndex = Array.IndexOf(args, "--aot");
    Console.WriteLine($"cli: cold wall time, a new process per call, {cliRuns} runs each after one warm-up round, interleaved; {Environment.ProcessorCount} cores; load average {LoadAverage()}");
    return await new CliStartupBenchmark(cliRuns, aotIndex >= 0 && aotIndex + 1 < args.Length ? args[aotIndex + 1] : null).RunAsync(Console.WriteLine) ? 0 : 1;
}

if (args.Length > 0 && args[0] == "workflows")
{
    var (workflowRuns, steps, parallelism) = (Option("--runs", 1000), Option("--steps", 10), Option("--parallelism", 100));
    var hangfire = new HangfireSettings(Option("--hangfire-workers", 20), TimeSpan.FromMilliseconds(Option("--hangfire-poll-ms", 50.0)), Option("--hangfire-long-polling", true));
    var outputKibs = OptionList("--output-kib", [0]);
    var workflows = new WorkflowsBenchmark(workflowRuns, steps, parallelism, args.Contains("--orchestrator-only") ? null : hangfire, outputKibs);
    var shapes = string.Join(", then ", outputKibs.Select(kib => kib > 0 ? $"ssh.exec printing {kib} KiB on one emulator machine" : "sleep 0 s"));
    Console.WriteLine($"workflows: {workflowRuns} runs x {steps} steps ({shapes}), {parallelism} starts in flight, after {workflows.WarmUp} warm-up runs; {Environment.ProcessorCount} cores; load average {LoadAverage()}");
    Console.WriteLine($"hangfire: {workflowRuns} chains x {steps} no-op jobs, each a ContinueJobWith of the previous, {parallelism} chains created in flight; Hangfire.Core 1.8.25 + Hangfire.PostgreSql 1.21.1, WorkerCount {hangfire.Workers}, QueuePollInterval {hangfire.QueuePollInterval.TotalMilliseconds} ms, EnableLongPolling {hangfire.LongPolling}");
    var ok = await workflows.RunAsync(Console.WriteLine);
    Console.WriteLine($"load average after: {LoadAverage()}");
    return ok ? 0 : 1;
}

if (args.Length > 0 && args[0] != "fleet" && !args[0].StartsWith("--", StringComparison.Ordinal))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

var machines = Option("--machines", 100);
var runs = Option("--runs", 3);
var scale = Option("--scale", 1.0);

var benchmark = new MachineFleetBenchmark(machines, scale);
Console.WriteLine($"fleet: {machines} machines created and started concurrently, emulator enforcing Fly's limits x{scale}, {runs} run(s)");
Console.WriteLine($"floor allowed by the limits: {benchmark.Floor.TotalSeconds:0.00} s");
var results = new List<FleetRun>();
for (var run = 1; run <= runs; run++)
{
    var result = await benchmark.RunAsync(run);
    results.Add(result);
    Console.WriteLine($"run {run}: {result.Elapsed.TotalSeconds:0.00} s, {result.Calls} API calls ({result.WireRequests} on the wire, {result.WireRateLimited} answered 429), 429s reaching the caller: {result.CallerRateLimited}, started: {result.Started}/{machines}");
}

var median = results.Select(r => r.Elapsed).Order().ElementAt(results.Count / 2);
Console.WriteLine($"median {median.TotalSeconds:0.00} s; ratio to floor {median / benchmark.Floor:0.000}x (goal <= 1.25x); median API calls {results.Select(r => r.Calls).Order().ElementAt(results.Count / 2)}; 429s reaching the caller {results.Sum(r => r.CallerRateLimited)}");
return results.All(r => r.Started == machines && r.CallerRateLimited == 0) ? 0 : 1;

T Option<T>(string name, T fallback)
    where T : IParsable<T>
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? T.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

int[] OptionList(string name, int[] fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length
        ? [.. args[index + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture))]
        : fallback;
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

bool Teardown(int seen, IReadOnlyList<string> leftOver)
{
    Console.WriteLine($"teardown: instances destroyed, silo stopped, emulator disposed; machine processes seen {seen}, left alive {leftOver.Count}");
    foreach (var process in leftOver)
    {
        Console.WriteLine($"  left alive: {process}");
    }

    return leftOver.Count == 0;
}
