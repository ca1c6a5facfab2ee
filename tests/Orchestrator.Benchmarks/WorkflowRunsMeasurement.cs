using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using Orchestrator.Fly.Emulator;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Grains.Workflows;
using Orchestrator.Runs;
using Orchestrator.Silo.Hosting;
using Orchestrator.Testing;
using Orchestrator.Workflows;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The Orchestrator side of the workflows mode: the production silo on the postgres profile in this process, a
/// workflow of <c>steps</c> sleep steps of 0 s registered, <c>runs</c> runs started through
/// <see cref="IWorkflowRunGrain.StartAsync"/> with a bounded number of starts in flight, each run read back with
/// <see cref="IWorkflowRunGrain.GetAsync"/> once it has ended. Timings come from the run's own step timestamps.
/// With <c>outputKib</c> above 0 the steps are <c>ssh.exec</c> steps that each print that many KiB, on one machine
/// of a Fly emulator started here: their outputs are what the run's checkpoint carries.
/// </summary>
internal sealed class WorkflowRunsMeasurement(string connectionString, int runs, int steps, int parallelism, int warmUpRuns, int outputKib = 0)
{
    public const string Tenant = "dev";
    public const string Workflow = "bench-chain";
    private const string Machine = "bench";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);

    public async Task<SideReport> RunAsync(Action<string> say)
    {
        await using var emulator = outputKib > 0
            ? await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(20), RateLimitScale = 20 })
            : null;
        string[] fly = emulator is null
            ? []
            : [
                $"--FLY_API_TOKEN={emulator.ApiToken}",
                $"--Fly:BaseAddress={emulator.BaseAddress}",
                "--Fly:AppName=workflow-bench",
                "--Fly:RateLimitScale=20",
                "--Orchestrator:Instances:SettlePollInterval=00:00:00.100",
            ];
        var app = SiloApplication.Build(
            [
                .. fly,
                "--urls=http://127.0.0.1:0",
                $"--ConnectionStrings:Orchestrator={connectionString}",
                "--Orchestrator:ClusterId=bench",
                $"--Orchestrator:Auth:AdminKey={Convert.ToHexString(RandomNumberGenerator.GetBytes(32))}",
                $"--Orchestrator:SiloPort={LoopbackPort.Free()}",
                $"--Orchestrator:GatewayPort={LoopbackPort.Free()}",
                "--Orchestrator:AdvertisedIPAddress=127.0.0.1",
                $"--Orchestrator:Secrets:EncryptionKey={Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}",
                // Throughput is measured here, not the tenant's live-run quota (100 by default): every start is admitted.
                "--Orchestrator:Tenants:DefaultMaxConcurrentRuns=1000000",
            ],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
                builder.Logging.AddFilter<ConsoleLoggerProvider>(null, LogLevel.Error);
            });
        await SiloApplication.StartAsync(app);
        var client = app.Services.GetRequiredService<IClusterClient>();
        var eventStore = app.Services.GetRequiredService<IRunEventStore>();
        SideReport report;
        try
        {
            if (emulator is not null)
            {
                await CreateMachineAsync(client, say);
            }

            var duration = await RegisterAsync(client, say);
            say($"orchestrator: warm-up of {warmUpRuns} runs");
            await MeasureAsync(client, "warmup", warmUpRuns);
            var eventsBefore = (eventStore as PostgresRunEventStore)?.Statistics;
            var cpu = await PostgresCpu.FindAsync(connectionString);
            var (processBefore, postgresBefore) = (Process.GetCurrentProcess().TotalProcessorTime, cpu?.CpuTime());
            var measured = await MeasureAsync(client, "run", runs);
            var cores = CpuCores(measured.Wall, Process.GetCurrentProcess().TotalProcessorTime - processBefore, cpu?.CpuTime() - postgresBefore);
            var eventsAfter = (eventStore as PostgresRunEventStore)?.Statistics;
            await ListedAsEndedAsync("run-", measured.Completed);
            var (rows, writes) = await RunStateWritesAsync("run-");
            var checkpoint = await CheckpointSizesAsync("run-");
            var parse = ParseCost(Definition(duration));
            report = measured with
            {
                Cores = cores,
                Notes = [
                    outputKib > 0 ? $"steps: ssh.exec printing {outputKib} KiB each" : $"sleep duration: {duration}",
                    $"last checkpoint of a run (orchestrator_run_states.payload, the largest it wrote): avg {checkpoint.AvgBytes:0} bytes, max {checkpoint.MaxBytes} bytes; stored (pg_column_size, after TOAST compression) avg {checkpoint.AvgStoredBytes:0} bytes",
                    .. measured.Notes,
                    $"grain-state writes (row versions of the {rows} checkpoint rows of the measured runs): {writes} = {(double)writes / runs:0.00} per run of {steps} steps",
                    eventsBefore is { } b && eventsAfter is { } a
                        ? $"run events: {a.EventsWritten - b.EventsWritten} in {a.BatchesWritten - b.BatchesWritten} batch inserts ({(double)(a.EventsWritten - b.EventsWritten) / Math.Max(1, a.BatchesWritten - b.BatchesWritten):0.0} events per insert), {(double)(a.EventsWritten - b.EventsWritten) / (runs * steps):0.00} events per step"
                        : "run events: statistics not available",
                    $"definition parse (YAML to validated definition, one per StartAsync in WorkflowRunGrain.Parse), timed here: p50 {parse.P50:0.00} ms  p99 {parse.P99:0.00} ms",
                ],
                StateWrites = writes,
                LastCheckpointBytes = checkpoint.AvgBytes,
            };
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        return report;
    }

    /// <summary>The machine the ssh.exec steps run on, made by a run of a one-step workflow.</summary>
    private static async Task CreateMachineAsync(IClusterClient client, Action<string> say)
    {
        const string setup = "bench-machine";
        await client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(Tenant, setup)).RegisterAsync($$"""
            name: {{setup}}
            steps:
              - id: make
                uses: instance.create
                with: { name: {{Machine}}, region: ams, size: shared-cpu-1x }
            """);
        var run = client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(Tenant, "setup-machine"));
        await run.StartAsync(new RunStartRequest(setup, null, "{}"));
        var clock = Stopwatch.StartNew();
        RunView? view;
        while ((view = await run.GetAsync()) is null || !RunStatuses.IsTerminal(view.Status))
        {
            if (clock.Elapsed > RunTimeout)
            {
                throw new TimeoutException($"machine {Machine} not created after {RunTimeout.TotalSeconds:0} s");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        if (view.Status != RunStatuses.Succeeded)
        {
            throw new InvalidOperationException($"machine {Machine} not created: {view.Error}");
        }

        say($"orchestrator: machine {Machine} created on the emulator in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Registers the chain; 0 s must validate, else the smallest duration that does is used and reported.</summary>
    private async Task<string> RegisterAsync(IClusterClient client, Action<string> say)
    {
        if (outputKib > 0)
        {
            var version = await client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(Tenant, Workflow)).RegisterAsync(Definition(""));
            say($"orchestrator: workflow {Workflow} v{version.Version} registered: {steps} x ssh.exec printing {outputKib} KiB");
            return "-";
        }

        var definitions = client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(Tenant, Workflow));
        foreach (var duration in new[] { "0s", "1ms" })
        {
            try
            {
                var version = await definitions.RegisterAsync(Definition(duration));
                say($"orchestrator: workflow {Workflow} v{version.Version} registered: {steps} x sleep {duration}");
                return duration;
            }
            catch (WorkflowInvalidException invalid)
            {
                say($"orchestrator: sleep of {duration} does NOT validate: {string.Join("; ", invalid.Problems.Select(p => $"{p.Path} ({p.Line}:{p.Column}) {p.Message}"))}");
            }
        }

        throw new InvalidOperationException("no sleep duration validates");
    }

    private string Definition(string duration)
    {
        var yaml = new StringBuilder().Append("name: ").Append(Workflow).Append("\nsteps:\n");
        for (var step = 1; step <= steps; step++)
        {
            if (outputKib > 0)
            {
                yaml.Append(CultureInfo.InvariantCulture, $"  - id: s{step}\n    uses: ssh.exec\n    with: {{ instance: {Machine}, command: \"head -c {outputKib * 1024} /dev/zero | tr '\\\\0' x\" }}\n");
            }
            else
            {
                yaml.Append(CultureInfo.InvariantCulture, $"  - id: s{step}\n    uses: sleep\n    with: {{ duration: {duration} }}\n");
            }
        }

        return yaml.ToString();
    }

    private async Task<SideReport> MeasureAsync(IClusterClient client, string prefix, int count)
    {
        var grains = Enumerable.Range(0, count)
            .Select(i => client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(Tenant, string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i:D6}"))))
            .ToArray();
        var startCalls = new ConcurrentBag<double>();
        var failures = new ConcurrentBag<string>();
        var request = new RunStartRequest(Workflow, null, "{}");
        var first = DateTimeOffset.UtcNow;
        await Parallel.ForEachAsync(grains, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (grain, ct) =>
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                await grain.StartAsync(request, ct);
                startCalls.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                failures.Add($"{grain.GetPrimaryKeyString()} start: {exception.Message}");
            }
        });
        var startsDone = DateTimeOffset.UtcNow;

        // Runs end roughly in start order: wait for each in turn, so a poll mostly finds its run already ended.
        var clock = Stopwatch.StartNew();
        var views = new List<RunView>(count);
        foreach (var grain in grains)
        {
            while (true)
            {
                var view = await grain.GetAsync();
                if (view is not null && RunStatuses.IsTerminal(view.Status))
                {
                    views.Add(view);
                    break;
                }

                if (view is null && failures.Any(f => f.StartsWith(grain.GetPrimaryKeyString(), StringComparison.Ordinal)) || clock.Elapsed > RunTimeout)
                {
                    failures.Add($"{grain.GetPrimaryKeyString()}: {view?.Status ?? "not started"} after {clock.Elapsed.TotalSeconds:0} s");
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(5));
            }
        }

        foreach (var view in views.Where(v => v.Status != RunStatuses.Succeeded))
        {
            failures.Add($"{view.RunId}: {view.Status} {view.Error}");
        }

        var ok = views.Where(v => v.Status == RunStatuses.Succeeded).ToList();
        var last = ok.Count == 0 ? DateTimeOffset.UtcNow : ok.Max(v => v.EndedAt!.Value);
        var stepToStep = ok.SelectMany(v => v.Steps.Zip(v.Steps.Skip(1), (a, b) => (b.StartedAt!.Value - a.EndedAt!.Value).TotalMilliseconds));
        var firstStep = ok.Select(v => (v.Steps[0].StartedAt!.Value - v.CreatedAt).TotalMilliseconds);
        var lastStep = ok.Select(v => (v.EndedAt!.Value - v.Steps[^1].EndedAt!.Value).TotalMilliseconds);
        var started = Percentiles.Of(startCalls);
        var stepDuration = Percentiles.Of(ok.SelectMany(v => v.Steps.Select(st => (st.EndedAt!.Value - st.StartedAt!.Value).TotalMilliseconds)));
        var (f, l) = (Percentiles.Of(firstStep), Percentiles.Of(lastStep));
        return new SideReport(
            ok.Count,
            ok.Sum(v => v.Steps.Count),
            last - first,
            Percentiles.Of(stepToStep),
            Percentiles.Of(ok.Select(v => (v.EndedAt!.Value - v.CreatedAt).TotalMilliseconds)),
            [.. failures],
            [
                $"starts: all {count} accepted {(startsDone - first).TotalSeconds:0.00} s after the first; StartAsync call p50 {started.P50:0.00} ms  p99 {started.P99:0.00} ms",
                $"run accepted -> first step started p50 {f.P50:0.00} ms  p99 {f.P99:0.00} ms; last step ended -> run ended p50 {l.P50:0.00} ms  p99 {l.P99:0.00} ms",
            ])
        {
            StepDuration = stepDuration,
        };
    }

    /// <summary>
    /// Waits until <paramref name="count"/> runs are listed as ended. A run's view shows it ended while its last
    /// checkpoint is still being written; its index row is written after that, so counting checkpoints before
    /// would miss the last write of some runs.
    /// </summary>
    private async Task ListedAsEndedAsync(string prefix, int count)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await using var command = new NpgsqlCommand(
                "select count(*) from orchestrator_runs where tenant = @tenant and run_id like @pattern and status = any(@ended)",
                connection);
            command.Parameters.AddWithValue("tenant", Tenant);
            command.Parameters.AddWithValue("pattern", $"{prefix}%");
            command.Parameters.AddWithValue("ended", new[] { RunStatuses.Succeeded, RunStatuses.Failed, RunStatuses.Cancelled });
            if ((long)(await command.ExecuteScalarAsync())! >= count)
            {
                return;
            }

            if (clock.Elapsed > RunTimeout)
            {
                throw new TimeoutException($"runs not listed as ended after {RunTimeout.TotalSeconds:0} s");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    /// <summary>
    /// Writes to the measured runs' checkpoint rows (orchestrator_run_states; orleansstorage too, which should hold
    /// none of them): a row is inserted at version 1 and every later write adds 1, so the sum of the versions of
    /// rows created by this measurement is exactly the number of writes they took.
    /// </summary>
    private async Task<(long Rows, long Writes)> RunStateWritesAsync(string prefix)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select count(*), coalesce(sum(version), 0) from
            (
                select version from orchestrator_run_states where run_key like @pattern
                union all
                select version from orleansstorage where grainidextensionstring like @pattern
            ) as rows
            """, connection);
        command.Parameters.AddWithValue("pattern", $"{Tenant}/{prefix}%");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>
    /// Sizes of the measured runs' checkpoints as they were last written (the run's end, so the largest of each run):
    /// the serialized payload, and what PostgreSQL stores of it.
    /// </summary>
    private async Task<(double AvgBytes, long MaxBytes, double AvgStoredBytes)> CheckpointSizesAsync(string prefix)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select coalesce(avg(octet_length(payload)), 0)::float8, coalesce(max(octet_length(payload)), 0)::int8, coalesce(avg(pg_column_size(payload)), 0)::float8
            from orchestrator_run_states where run_key like @pattern
            """, connection);
        command.Parameters.AddWithValue("pattern", $"{Tenant}/{prefix}%");
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetDouble(0), reader.GetInt64(1), reader.GetDouble(2));
    }

    /// <summary>What one run start spends reading its definition: the same reader the grain calls, timed in a loop.</summary>
    private static Percentiles ParseCost(string source)
    {
        var samples = new List<double>();
        for (var i = 0; i < 300; i++)
        {
            var start = Stopwatch.GetTimestamp();
            _ = WorkflowDefinitionReader.Read(source, WorkflowDefinitionReader.DetectFormat(source));
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return Percentiles.Of(samples.Skip(50));
    }

    internal static CpuCores CpuCores(TimeSpan wall, TimeSpan process, TimeSpan? postgres) =>
        new(process / wall, postgres is { } p ? p / wall : double.NaN);
}

/// <summary>Average cores busy during the measured window: this process, and the PostgreSQL server.</summary>
internal sealed record CpuCores(double Process, double Postgres);

/// <summary>One side's numbers; step and run times in ms.</summary>
internal sealed record SideReport(
    int Completed,
    int Steps,
    TimeSpan Wall,
    Percentiles StepToStep,
    Percentiles Run,
    IReadOnlyList<string> Failures,
    IReadOnlyList<string> Notes)
{
    /// <summary>Each step's own start to end: for Orchestrator it holds the checkpoint written after the start.</summary>
    public Percentiles StepDuration { get; init; } = new(double.NaN, double.NaN);

    public double StepsPerSecond => Steps / Wall.TotalSeconds;

    public CpuCores Cores { get; init; } = new(double.NaN, double.NaN);

    /// <summary>Orchestrator only: grain-state writes of the measured runs.</summary>
    public long StateWrites { get; init; }

    /// <summary>Orchestrator only: average serialized size of the measured runs' last checkpoints.</summary>
    public double LastCheckpointBytes { get; init; }

    /// <summary>Database commits and row writes over the side's whole database lifetime (warm-up included).</summary>
    public DatabaseCounters? Database { get; init; }
}
