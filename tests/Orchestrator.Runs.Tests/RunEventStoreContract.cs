using System.Globalization;
using Orchestrator.Grains.Runs;
using Xunit.Abstractions;

namespace Orchestrator.Runs.Tests;

/// <summary>
/// The behaviour every <see cref="IRunEventStore"/> must have, run against PostgreSQL and against memory.
/// Every test uses its own run keys, so tests sharing a store's storage never meet.
/// </summary>
public abstract class RunEventStoreContract(ITestOutputHelper output)
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A new store over this class's storage (a new store sees what earlier ones wrote).</summary>
    protected abstract IRunEventStore CreateStore(RunEventStoreOptions options);

    /// <summary>Makes the store's batch writes wait (a locked table) until the returned handle is disposed.</summary>
    protected abstract Task<IAsyncDisposable> BlockWritesAsync(IRunEventStore store);

    protected abstract RunEventWriterStatistics StatisticsOf(IRunEventStore store);

    /// <summary>Reads a run's events after <paramref name="disposed"/> is disposed (through a new store where storage outlives it).</summary>
    protected abstract Task<IReadOnlyList<RunEvent>> ReadAfterDisposeAsync(IRunEventStore disposed, string runKey);

    [Fact]
    public async Task EventsReadBackInSequenceOrderWithEveryField()
    {
        await using var store = CreateStore(new RunEventStoreOptions());
        var run = NewRunKey();
        var other = NewRunKey();
        RunEvent[] events =
        [
            Event(run, 3, RunEventKinds.StepCompleted, "build", 2, """{"exitCode":0,"note":"caf\u00e9 \ud83d\ude80"}"""),
            Event(run, 1, RunEventKinds.RunStarted),
            Event(other, 1, RunEventKinds.RunStarted),
            Event(run, 2, RunEventKinds.StepStarted, "build", 2),
        ];
        foreach (var e in events)
        {
            await store.AppendAsync(e);
        }

        await store.FlushAsync();

        var read = await store.ReadAsync(run, 0, 100);
        Assert.Equal([events[1], events[3], events[0]], read);
        Assert.Equal("""{"exitCode":0,"note":"caf\u00e9 \ud83d\ude80"}""", read[2].Data); // the exact text, not re-formatted
        Assert.Equal([events[3]], await store.ReadAsync(run, 1, 1));
        Assert.Empty(await store.ReadAsync(run, 3, 10));
        Assert.Equal([events[2]], await store.ReadAsync(other, 0, 10));
    }

    [Fact]
    public async Task TimesComeBackInUtcTruncatedToMicroseconds()
    {
        await using var store = CreateStore(new RunEventStoreOptions());
        var run = NewRunKey();
        var at = new DateTimeOffset(2026, 3, 1, 14, 0, 0, TimeSpan.FromHours(2)).AddTicks(1_234_567);
        await store.AppendAsync(new RunEvent(run, 1, at, RunEventKinds.RunStarted, null, 0, "{}"));
        await store.FlushAsync();

        var read = Assert.Single(await store.ReadAsync(run, 0, 10));
        Assert.Equal(TimeSpan.Zero, read.At.Offset);
        Assert.Equal(at.AddTicks(-7), read.At);
    }

    [Fact]
    public async Task ReadsSeeFlushedEventsOnlyAndFlushMakesEveryEarlierAppendDurable()
    {
        // A batch that never fills and a delay that never ends: only the flush can write these.
        await using var store = CreateStore(new RunEventStoreOptions { BatchSize = 10_000, FlushDelay = TimeSpan.FromHours(1) });
        var run = NewRunKey();
        for (var sequence = 1; sequence <= 200; sequence++)
        {
            await store.AppendAsync(Event(run, sequence));
        }

        Assert.Empty(await store.ReadAsync(run, 0, 1000));
        Assert.Equal(0, await store.GetLastSequenceAsync(run));

        await store.FlushAsync();

        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), (await store.ReadAsync(run, 0, 1000)).Select(e => e.Sequence));
        Assert.Equal(200, await store.GetLastSequenceAsync(run));
        await store.FlushAsync(); // nothing queued: completes at once
    }

    [Fact]
    public async Task ConcurrentAppendsShareBatches()
    {
        await using var store = CreateStore(new RunEventStoreOptions { BatchSize = 500, FlushDelay = TimeSpan.FromMilliseconds(5) });
        var runs = Enumerable.Range(0, 10).Select(_ => NewRunKey()).ToArray();
        var before = StatisticsOf(store);

        await Task.WhenAll(runs.Select(run => Task.Run(async () =>
        {
            for (var sequence = 1; sequence <= 100; sequence++)
            {
                await store.AppendAsync(Event(run, sequence));
            }
        })));
        await store.FlushAsync();

        var after = StatisticsOf(store);
        var batches = after.BatchesWritten - before.BatchesWritten;
        var events = after.EventsWritten - before.EventsWritten;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"1,000 appends from 10 writers: {batches} batches, average {(double)events / batches:F1}, largest {after.LargestBatch}"));
        Assert.Equal(1000, events);
        Assert.InRange(batches, 1, 50);
        foreach (var run in runs)
        {
            Assert.Equal(100, await store.GetLastSequenceAsync(run));
        }
    }

    [Fact]
    public async Task AFullQueueMakesAppendsWaitAndLosesNothing()
    {
        const int capacity = 100;
        const int batchSize = 10;
        const int total = 400;
        await using var store = CreateStore(new RunEventStoreOptions { QueueCapacity = capacity, BatchSize = batchSize, FlushDelay = TimeSpan.Zero });
        var run = NewRunKey();
        var accepted = 0;
        ValueTask blocked = default;

        await using (var block = await BlockWritesAsync(store))
        {
            for (var sequence = 1; sequence <= total; sequence++)
            {
                var append = store.AppendAsync(Event(run, sequence));
                if (!append.IsCompleted)
                {
                    // The queue may just be waiting for the writer to take a batch; a wait this long means it
                    // is full and the writer is stuck on the blocked database.
                    var task = append.AsTask();
                    if (await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(1))) != task)
                    {
                        blocked = new ValueTask(task);
                        break;
                    }
                }

                accepted++;
            }

            // Held in memory: the queue plus the one batch the writer holds, never more.
            Assert.InRange(accepted, capacity, capacity + batchSize);
            Assert.False(blocked.IsCompleted);
            Assert.Equal(capacity, StatisticsOf(store).Queued);

            // A caller that stops waiting gets a cancellation, and its event is not queued.
            using var cancelled = new CancellationTokenSource();
            var gaveUp = store.AppendAsync(Event(run, total + 1), cancelled.Token).AsTask();
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gaveUp);
        }

        await blocked; // released: the waiting append goes in
        for (var sequence = accepted + 2; sequence <= total; sequence++)
        {
            await store.AppendAsync(Event(run, sequence));
        }

        await store.FlushAsync();
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), (await store.ReadAsync(run, 0, 1000)).Select(e => e.Sequence));
    }

    [Fact]
    public async Task ReappendingAStoredSequenceIsHarmlessAndKeepsTheFirst()
    {
        await using var store = CreateStore(new RunEventStoreOptions());
        var run = NewRunKey();
        var first = Event(run, 2, data: """{"try":1}""");
        await store.AppendAsync(Event(run, 1));
        await store.AppendAsync(first);
        await store.FlushAsync();

        // As after a crash: the same sequence again, alongside new ones and a duplicate within one batch.
        await store.AppendAsync(Event(run, 2, data: """{"try":2}"""));
        await store.AppendAsync(Event(run, 3));
        await store.AppendAsync(Event(run, 3, data: """{"try":3}"""));
        await store.AppendAsync(Event(run, 4));
        await store.FlushAsync();

        var read = await store.ReadAsync(run, 0, 10);
        Assert.Equal([1L, 2, 3, 4], read.Select(e => e.Sequence));
        Assert.Equal(first, read[1]);
        Assert.Equal("{}", read[2].Data);
    }

    [Fact]
    public async Task LastSequenceIsZeroForAnUnknownRunAndTheHighestWrittenOtherwise()
    {
        await using var store = CreateStore(new RunEventStoreOptions());
        var run = NewRunKey();
        Assert.Equal(0, await store.GetLastSequenceAsync(run));

        foreach (var sequence in new long[] { 5, 2, 9, 7 })
        {
            await store.AppendAsync(Event(run, sequence));
        }

        await store.FlushAsync();
        Assert.Equal(9, await store.GetLastSequenceAsync(run));
        Assert.Equal(0, await store.GetLastSequenceAsync(NewRunKey()));
    }

    [Fact]
    public async Task DisposingWritesWhatIsQueued()
    {
        var store = CreateStore(new RunEventStoreOptions { BatchSize = 10_000, FlushDelay = TimeSpan.FromHours(1) });
        var run = NewRunKey();
        for (var sequence = 1; sequence <= 50; sequence++)
        {
            await store.AppendAsync(Event(run, sequence));
        }

        await store.DisposeAsync();

        Assert.Equal(50, (await ReadAfterDisposeAsync(store, run)).Count);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.AppendAsync(Event(run, 51)));
        await store.DisposeAsync(); // twice is harmless
    }

    [Fact]
    public async Task DisposingGivesUpAfterItsTimeoutWhenWritesNeverComplete()
    {
        var store = CreateStore(new RunEventStoreOptions { DisposeTimeout = TimeSpan.FromMilliseconds(200) });
        var run = NewRunKey();
        await using (await BlockWritesAsync(store))
        {
            await store.AppendAsync(Event(run, 1));
            var flush = store.FlushAsync();
            await store.DisposeAsync(); // returns although the write never completed

            await Assert.ThrowsAsync<ObjectDisposedException>(() => flush);
        }

        Assert.Empty(await ReadAfterDisposeAsync(store, run));
    }

    [Fact]
    public async Task EventsThatCouldNeverBeStoredAreRefusedAtAppend()
    {
        await using var store = CreateStore(new RunEventStoreOptions());
        var run = NewRunKey();
        RunEvent[] bad =
        [
            Event(run, 0),
            Event(run, -3),
            Event("", 1),
            Event(run, 1, kind: ""),
            Event(run, 1, data: "[]"),
            Event(run, 1, data: "not json"),
            Event(run, 1, data: """{"a":1"""),
            Event(run, 1, data: null!),
            Event(run, 1, stepId: "a\0b"),
            Event(run, 1) with { Attempt = -1 },
        ];
        foreach (var e in bad)
        {
            await Assert.ThrowsAnyAsync<ArgumentException>(async () => await store.AppendAsync(e));
        }

        await store.AppendAsync(Event(run, 1));
        await store.FlushAsync();
        Assert.Single(await store.ReadAsync(run, 0, 10));
    }

    protected static string NewRunKey() => $"tenant-{Guid.NewGuid():N}/run-{Guid.NewGuid():N}";

    protected static RunEvent Event(string runKey, long sequence, string kind = RunEventKinds.StepOutput, string? stepId = "step", int attempt = 1, string data = "{}") =>
        new(runKey, sequence, Start.AddSeconds(sequence), kind, stepId, attempt, data);
}
