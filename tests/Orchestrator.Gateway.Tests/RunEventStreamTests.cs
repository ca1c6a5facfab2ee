using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Orchestrator.Gateway.Runs;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Gateway.Tests;

public sealed class RunEventStreamTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public async Task AnSseEventCarriesItsSequenceAsIdItsKindAsEventAndItsDataAsOneJsonLine()
    {
        using var body = new MemoryStream();
        using (var writer = new RunEventWriter(body, RunEventFormat.ServerSentEvents))
        {
            await writer.WriteEventAsync(new RunEvent("dev/run-1", 7, At, RunEventKinds.StepOutput, "say", 2, "{\n  \"stream\": \"stdout\",\n  \"data\": \"a\\nb\"\n}"), CancellationToken.None);
        }

        Assert.Equal(
            "id: 7\nevent: step.output\ndata: {\"sequence\":7,\"at\":\"2026-01-02T03:04:05+00:00\",\"kind\":\"step.output\",\"step_id\":\"say\",\"attempt\":2,\"data\":{\"stream\":\"stdout\",\"data\":\"a\\nb\"}}\n\n",
            Encoding.UTF8.GetString(body.ToArray()));
    }

    [Fact]
    public async Task AnNdjsonEventIsOneLineWithANullStepForRunEvents()
    {
        using var body = new MemoryStream();
        using (var writer = new RunEventWriter(body, RunEventFormat.NdJson))
        {
            await writer.WriteEventAsync(new RunEvent("dev/run-1", 1, At, RunEventKinds.RunStarted, null, 0, """{"workflow":"hello","version":1}"""), CancellationToken.None);
            await writer.WriteKeepAliveAsync(CancellationToken.None);
        }

        var line = Assert.Single(Encoding.UTF8.GetString(body.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var item = JsonSerializer.Deserialize<JsonElement>(line);
        Assert.Equal(JsonValueKind.Null, item.GetProperty("step_id").ValueKind);
        Assert.Equal("hello", item.GetProperty("data").GetProperty("workflow").GetString());
    }

    [Fact]
    public async Task ATransientFailureMidStreamReopensTheWatchAfterTheLastEventSent()
    {
        var log = Enumerable.Range(1, 6).Select(Event).ToList();
        var opened = new List<long>();
        var failed = false;
        async IAsyncEnumerable<RunEvent> Watch(long after, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            opened.Add(after);
            // Replays one event too many, as a watch that subscribed early can: the relay must skip it.
            foreach (var item in log.Where(e => e.Sequence >= after && after > 0 || e.Sequence > after))
            {
                await Task.Yield();
                if (item.Sequence == 4 && !failed)
                {
                    failed = true;
                    throw new SiloUnavailableException("the run's silo left");
                }

                yield return item;
            }
        }

        var (sequences, (last, complete)) = await RelayAsync(Watch, Terminal(6));

        Assert.True(complete);
        Assert.Equal(6, last);
        Assert.Equal([1L, 2, 3, 4, 5, 6], sequences);
        Assert.Equal([0L, 3], opened);
    }

    [Fact]
    public async Task AWatchEndedBeforeTheRunDidIsReopened()
    {
        var opened = new List<long>();
        async IAsyncEnumerable<RunEvent> Watch(long after, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            opened.Add(after);
            await Task.Yield();
            // The grain ends a watcher that fell behind after a few events.
            foreach (var sequence in Enumerable.Range((int)after + 1, 2).Where(s => s <= 5))
            {
                yield return Event(sequence);
            }
        }

        var (sequences, (_, complete)) = await RelayAsync(Watch, Terminal(5));

        Assert.True(complete);
        Assert.Equal([1L, 2, 3, 4, 5], sequences);
        Assert.Equal([0L, 2, 4], opened);
    }

    [Fact]
    public async Task AWatchThatKeepsFailingIsGivenUpAfterAFewTries()
    {
        var opened = 0;
        async IAsyncEnumerable<RunEvent> Watch(long after, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            opened++;
            await Task.Yield();
            throw new TimeoutException("no answer");
#pragma warning disable CS0162 // An iterator needs a yield.
            yield break;
#pragma warning restore CS0162
        }

        await Assert.ThrowsAsync<TimeoutException>(() => RelayAsync(Watch, Terminal(5)));
        Assert.Equal(RunEventRelay.MaxReconnects + 1, opened);
    }

    [Fact]
    public async Task AFailureThatIsNotTransientIsNotRetried()
    {
        var opened = 0;
        async IAsyncEnumerable<RunEvent> Watch(long after, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            opened++;
            await Task.Yield();
            throw new RunNotFoundException("gone");
#pragma warning disable CS0162 // An iterator needs a yield.
            yield break;
#pragma warning restore CS0162
        }

        await Assert.ThrowsAsync<RunNotFoundException>(() => RelayAsync(Watch, Terminal(5)));
        Assert.Equal(1, opened);
    }

    [Fact]
    public async Task AQuietRunGetsKeepAliveComments()
    {
        var body = new SignallingStream(": keep-alive");
        async IAsyncEnumerable<RunEvent> Watch(long after, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            yield return Event(1);
            // Silent until the relay has written a keep-alive.
            await body.Seen.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            yield return Event(2);
        }

        using var writer = new RunEventWriter(body, RunEventFormat.ServerSentEvents);
        var (last, complete) = await RunEventRelay.RelayAsync(Watch, Terminal(2), 0, writer, TimeProvider.System, TimeSpan.FromMilliseconds(20), CancellationToken.None);

        Assert.True(complete);
        Assert.Equal(2, last);
        var text = Encoding.UTF8.GetString(body.ToArray());
        Assert.True(text.IndexOf(": keep-alive\n\n", StringComparison.Ordinal) > text.IndexOf("id: 1\n", StringComparison.Ordinal));
        Assert.True(text.IndexOf("id: 2\n", StringComparison.Ordinal) > text.IndexOf(": keep-alive\n\n", StringComparison.Ordinal));
    }

    private static RunEvent Event(int sequence) => new("dev/run-1", sequence, At, RunEventKinds.StepStarted, "a", 1, "{}");

    private static Func<CancellationToken, Task<RunView?>> Terminal(long lastSequence) =>
        _ => Task.FromResult<RunView?>(new RunView("run-1", "hello", 1, RunStatuses.Succeeded, "{}", [], "{}", null, At, At, At, lastSequence));

    private static async Task<(List<long> Sequences, (long Last, bool Complete) Result)> RelayAsync(
        Func<long, CancellationToken, IAsyncEnumerable<RunEvent>> watch, Func<CancellationToken, Task<RunView?>> current)
    {
        using var body = new MemoryStream();
        (long, bool) result;
        using (var writer = new RunEventWriter(body, RunEventFormat.NdJson))
        {
            result = await RunEventRelay.RelayAsync(watch, current, 0, writer, TimeProvider.System, TimeSpan.FromSeconds(30), CancellationToken.None);
        }

        var sequences = Encoding.UTF8.GetString(body.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonSerializer.Deserialize<JsonElement>(l).GetProperty("sequence").GetInt64())
            .ToList();
        return (sequences, result);
    }

    /// <summary>A memory stream that completes <see cref="Seen"/> once <c>marker</c> has been written to it.</summary>
    private sealed class SignallingStream(string marker) : MemoryStream
    {
        public TaskCompletionSource Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Encoding.UTF8.GetString(buffer.Span).Contains(marker, StringComparison.Ordinal))
            {
                Seen.TrySetResult();
            }

            return base.WriteAsync(buffer, cancellationToken);
        }
    }
}
