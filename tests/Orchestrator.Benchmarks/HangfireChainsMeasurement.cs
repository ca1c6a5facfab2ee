using System.Collections.Concurrent;
using System.Diagnostics;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Npgsql;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The peer of the workflows mode: Hangfire.PostgreSql running the same chain, <c>steps</c> no-op jobs where each is
/// a continuation (<c>ContinueJobWith</c>) of the one before, for <c>chains</c> chains created with the same bounded
/// parallelism, a Hangfire server in this process. Each job records when it ran (in-process timestamps).
/// </summary>
/// <remarks>
/// No Hangfire global state is used: the storage, the client, the server and its <see cref="JobActivator"/> are
/// instances of this measurement, and jobs reach the recorder through the activator.
/// </remarks>
internal sealed class HangfireChainsMeasurement(string connectionString, int chains, int steps, int parallelism, int warmUpChains, HangfireSettings settings)
{
    private static readonly TimeSpan ChainTimeout = TimeSpan.FromMinutes(2);

    public static PostgreSqlStorageOptions StorageOptions(HangfireSettings settings) => new()
    {
        SchemaName = "hangfire",
        PrepareSchemaIfNecessary = true,
        // Workers wait on LISTEN/NOTIFY for new jobs (PostgreSQL 11+) and poll only as a fallback.
        EnableLongPolling = settings.LongPolling,
        // Below the library's suggested 50 ms floor, which it refuses unless told otherwise.
        AllowUnsafeValues = settings.QueuePollInterval < TimeSpan.FromMilliseconds(50),
        QueuePollInterval = settings.QueuePollInterval,
    };

    public async Task<SideReport> RunAsync(Action<string> say)
    {
        // Hangfire's client and workers block on I/O: the chains created in flight, the workers and the server's own
        // processes each hold a thread and a connection. Without this the pool grows by a thread or two a second and
        // the measurement would time thread injection.
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        ThreadPool.SetMinThreads(Math.Max(minWorkers, parallelism + settings.Workers + 20), minIo);
        var pooled = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = parallelism + settings.Workers + 20 }.ConnectionString;
        var options = StorageOptions(settings);
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(pooled, options), options);
        var recorder = new ChainRecorder(warmUpChains + chains, steps);
        var client = new BackgroundJobClient(storage);
        var server = new BackgroundJobServer(
            new BackgroundJobServerOptions
            {
                WorkerCount = settings.Workers,
                Activator = new ChainJobActivator(recorder),
                ServerName = "bench-hangfire",
            },
            storage);
        try
        {
            say($"hangfire: warm-up of {warmUpChains} chains");
            await MeasureAsync(client, recorder, 0, warmUpChains, say);
            var cpu = await PostgresCpu.FindAsync(connectionString);
            var (processBefore, postgresBefore) = (Process.GetCurrentProcess().TotalProcessorTime, cpu?.CpuTime());
            var report = await MeasureAsync(client, recorder, warmUpChains, chains, say);
            return report with
            {
                Cores = WorkflowRunsMeasurement.CpuCores(report.Wall, Process.GetCurrentProcess().TotalProcessorTime - processBefore, cpu?.CpuTime() - postgresBefore),
            };
        }
        finally
        {
            server.SendStop();
            server.Dispose();
            ThreadPool.SetMinThreads(minWorkers, minIo);
        }
    }

    private async Task<SideReport> MeasureAsync(BackgroundJobClient client, ChainRecorder recorder, int from, int count, Action<string> say)
    {
        var failures = new ConcurrentBag<string>();
        var firstTimestamp = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(from, count), new ParallelOptions { MaxDegreeOfParallelism = parallelism }, (chain, _) =>
        {
            recorder.Created(chain);
            try
            {
                var id = client.Enqueue<ChainStepJob>(job => job.Run(chain, 0));
                for (var step = 1; step < steps; step++)
                {
                    var current = step;
                    id = client.ContinueJobWith<ChainStepJob>(id, job => job.Run(chain, current));
                }
            }
            catch (BackgroundJobClientException exception)
            {
                failures.Add($"chain {chain}: {exception.Message}");
            }

            return ValueTask.CompletedTask;
        });
        var createdAfter = Stopwatch.GetElapsedTime(firstTimestamp);

        var all = Task.WhenAll(Enumerable.Range(from, count).Select(recorder.Done));
        var waiting = Stopwatch.StartNew();
        while (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(10))) != all)
        {
            var unfinished = Enumerable.Range(from, count).Count(c => !recorder.Done(c).IsCompleted);
            if (waiting.Elapsed > ChainTimeout)
            {
                failures.Add($"{unfinished} chains unfinished after {ChainTimeout.TotalSeconds:0} s");
                break;
            }

            say($"hangfire: {count - unfinished}/{count} chains done after {waiting.Elapsed.TotalSeconds:0} s of waiting");
        }

        var done = Enumerable.Range(from, count).Where(c => recorder.Done(c).IsCompleted).ToList();
        var last = done.Count == 0 ? Stopwatch.GetTimestamp() : done.Max(c => recorder.EndedAt(c, steps - 1));
        return new SideReport(
            done.Count,
            done.Count * steps,
            Stopwatch.GetElapsedTime(firstTimestamp, last),
            Percentiles.Of(done.SelectMany(c => Enumerable.Range(1, steps - 1).Select(s => Stopwatch.GetElapsedTime(recorder.EndedAt(c, s - 1), recorder.StartedAt(c, s)).TotalMilliseconds))),
            Percentiles.Of(done.Select(c => Stopwatch.GetElapsedTime(recorder.CreatedAt(c), recorder.EndedAt(c, steps - 1)).TotalMilliseconds)),
            [.. failures],
            [$"chains: all {count} x {steps} jobs created {createdAfter.TotalSeconds:0.00} s after the first"])
        {
            StepDuration = Percentiles.Of(done.SelectMany(c => Enumerable.Range(0, steps).Select(s => Stopwatch.GetElapsedTime(recorder.StartedAt(c, s), recorder.EndedAt(c, s)).TotalMilliseconds))),
        };
    }
}

/// <summary>Hangfire's knobs for the measurement; all of them are printed with the results.</summary>
internal sealed record HangfireSettings(int Workers, TimeSpan QueuePollInterval, bool LongPolling);

/// <summary>Timestamps (<see cref="Stopwatch"/> ticks) of every chain's creation and of each job's run.</summary>
internal sealed class ChainRecorder
{
    private readonly int _steps;
    private readonly long[] _created;
    private readonly long[] _started;
    private readonly long[] _ended;
    private readonly TaskCompletionSource[] _done;

    public ChainRecorder(int chains, int steps)
    {
        _steps = steps;
        _created = new long[chains];
        _started = new long[chains * steps];
        _ended = new long[chains * steps];
        _done = [.. Enumerable.Range(0, chains).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))];
    }

    public void Created(int chain) => _created[chain] = Stopwatch.GetTimestamp();

    public void Ran(int chain, int step, long started, long ended)
    {
        _started[chain * _steps + step] = started;
        _ended[chain * _steps + step] = ended;
        if (step == _steps - 1)
        {
            _done[chain].TrySetResult();
        }
    }

    public Task Done(int chain) => _done[chain].Task;

    public long CreatedAt(int chain) => _created[chain];

    public long StartedAt(int chain, int step) => _started[chain * _steps + step];

    public long EndedAt(int chain, int step) => _ended[chain * _steps + step];
}

/// <summary>The job: does nothing but say when it ran. Public, as Hangfire invokes only public methods.</summary>
public sealed class ChainStepJob
{
    private readonly ChainRecorder _recorder;

    internal ChainStepJob(ChainRecorder recorder) => _recorder = recorder;

    public void Run(int chain, int step)
    {
        var started = Stopwatch.GetTimestamp();
        _recorder.Ran(chain, step, started, Stopwatch.GetTimestamp());
    }
}

/// <summary>Hands every job the measurement's recorder: the jobs' way in, instead of a static.</summary>
internal sealed class ChainJobActivator(ChainRecorder recorder) : JobActivator
{
    public override object ActivateJob(Type jobType) =>
        jobType == typeof(ChainStepJob) ? new ChainStepJob(recorder) : base.ActivateJob(jobType);
}
