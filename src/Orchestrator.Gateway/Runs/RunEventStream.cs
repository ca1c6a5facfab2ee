using System.Text.Json;
using Orchestrator.Gateway.Streaming;
using Orchestrator.Grains.Runs;
using Orleans.Runtime.Messaging;

namespace Orchestrator.Gateway.Runs;

/// <summary>How a run's events are sent: SSE unless the client asks for NDJSON.</summary>
internal enum RunEventFormat
{
    ServerSentEvents,
    NdJson,
}

/// <summary>
/// Writes run events to a streaming response, one JSON object each: <c>{sequence, at, kind, step_id, attempt,
/// data}</c> with the event's data embedded as JSON. In SSE each event carries <c>id: &lt;sequence&gt;</c> (so an
/// EventSource reconnects with <c>Last-Event-ID</c>) and <c>event: &lt;kind&gt;</c>.
/// </summary>
internal sealed class RunEventWriter(Stream body, RunEventFormat format) : IDisposable
{
    private readonly JsonEventStream _stream = new(body, format == RunEventFormat.ServerSentEvents);

    public async ValueTask WriteEventAsync(RunEvent item, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        WriteEvent(_stream.Begin(item.Kind, item.Sequence), item);
        _stream.End();
        await _stream.FlushAsync(cancellationToken);
    }

    /// <summary>A failure after the response started: the status line is gone, so the problem is the last event.</summary>
    public ValueTask WriteErrorAsync(string type, string title, string detail, CancellationToken cancellationToken) =>
        _stream.WriteErrorAsync(type, title, detail, cancellationToken);

    /// <summary>An SSE comment that keeps proxies from closing a quiet stream; NDJSON has no comments, so nothing.</summary>
    public ValueTask WriteKeepAliveAsync(CancellationToken cancellationToken) => _stream.WriteKeepAliveAsync(cancellationToken);

    /// <summary>One event as JSON; <c>data</c> is re-written compactly, so it never spans lines.</summary>
    internal static void WriteEvent(Utf8JsonWriter json, RunEvent item)
    {
        json.WriteStartObject();
        json.WriteNumber("sequence", item.Sequence);
        json.WriteString("at", item.At);
        json.WriteString("kind", item.Kind);
        if (item.StepId is null)
        {
            json.WriteNull("step_id");
        }
        else
        {
            json.WriteString("step_id", item.StepId);
        }

        json.WriteNumber("attempt", item.Attempt);
        json.WritePropertyName("data");
        JsonText.ToElement(item.Data).WriteTo(json);
        json.WriteEndObject();
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>
/// Relays a run's events from the grain to a writer: replay, then live until the run ends. The grain ends a watch
/// whose reader fell behind, and a transient cluster failure (the run's silo left, a call timed out) breaks one: in
/// both cases the watch is re-opened after the last event sent, so the client sees one stream without gaps or
/// duplicates. A watch that keeps breaking without news is given up after <see cref="MaxReconnects"/> tries.
/// </summary>
internal static class RunEventRelay
{
    public const int MaxReconnects = 3;

    /// <summary>
    /// Relays until the run has ended and every event of it was sent (<c>Complete</c>), or until the watch could not
    /// be re-opened (not complete). Failures other than transient ones propagate.
    /// </summary>
    /// <param name="watch">Opens the run's events after a sequence (the grain's <c>WatchAsync</c>).</param>
    /// <param name="current">Reads the run (the grain's <c>GetAsync</c>), to tell a run that ended from a watch that did.</param>
    /// <param name="after">The last sequence the client has.</param>
    /// <param name="writer">Where events go.</param>
    /// <param name="time">Drives keep-alives and the pause before re-opening.</param>
    /// <param name="keepAlive">How long a silent stream waits before a keep-alive.</param>
    /// <param name="cancellationToken">The request's.</param>
    public static async Task<(long Last, bool Complete)> RelayAsync(
        Func<long, CancellationToken, IAsyncEnumerable<RunEvent>> watch,
        Func<CancellationToken, Task<RunView?>> current,
        long after,
        RunEventWriter writer,
        TimeProvider time,
        TimeSpan keepAlive,
        CancellationToken cancellationToken)
    {
        var last = after;
        var failures = 0;
        while (true)
        {
            try
            {
                var progressed = false;
                await using (var events = watch(last, cancellationToken).GetAsyncEnumerator(cancellationToken))
                {
                    while (await Streaming.StreamingResponse.NextAsync(events, writer.WriteKeepAliveAsync, time, keepAlive, cancellationToken))
                    {
                        var item = events.Current;
                        if (item.Sequence <= last)
                        {
                            continue;
                        }

                        await writer.WriteEventAsync(item, cancellationToken);
                        last = item.Sequence;
                        progressed = true;
                        failures = 0;
                    }
                }

                var run = await current(cancellationToken);
                if (run is null || RunStatuses.IsTerminal(run.Status) && run.LastSequence <= last)
                {
                    return (last, true);
                }

                if (progressed)
                {
                    // The grain ended the watch early (this reader fell behind): carry on from here at once.
                    continue;
                }

                if (failures >= MaxReconnects)
                {
                    return (last, false);
                }

                failures++;
            }
            catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested && failures < MaxReconnects)
            {
                failures++;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200 * failures), time, cancellationToken);
        }
    }

    /// <summary>Failures that say nothing about the run: the watch is worth re-opening.</summary>
    internal static bool IsTransient(Exception exception) => exception is TimeoutException
        or SiloUnavailableException
        or OrleansMessageRejectionException
        or ConnectionFailedException
        or GatewayTooBusyException
        or EnumerationAbortedException;
}
