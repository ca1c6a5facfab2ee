using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Orchestrator.Gateway.Streaming;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// Splits one output stream into text and binary pieces: UTF-8 text goes out as <c>data</c>, anything else as
/// <c>data_base64</c>. A character cut in two by a chunk boundary is held back until its rest arrives, so valid
/// UTF-8 output never turns into base64 just because of where SSH split it.
/// </summary>
internal sealed class Utf8ChunkSplitter
{
    private readonly byte[] _pending = new byte[3];
    private int _pendingLength;

    /// <summary>Calls <paramref name="emit"/> with (bytes, isText) for what can be emitted now.</summary>
    public void Push(ReadOnlySpan<byte> chunk, Action<ReadOnlySpan<byte>, bool> emit)
    {
        byte[]? rented = null;
        var data = chunk;
        if (_pendingLength > 0)
        {
            rented = ArrayPool<byte>.Shared.Rent(_pendingLength + chunk.Length);
            _pending.AsSpan(0, _pendingLength).CopyTo(rented);
            chunk.CopyTo(rented.AsSpan(_pendingLength));
            data = rented.AsSpan(0, _pendingLength + chunk.Length);
            _pendingLength = 0;
        }

        try
        {
            var complete = CompletePrefixLength(data);
            var head = data[..complete];
            if (Utf8.IsValid(head))
            {
                if (!head.IsEmpty)
                {
                    emit(head, true);
                }

                data[complete..].CopyTo(_pending);
                _pendingLength = data.Length - complete;
            }
            else
            {
                emit(data, false);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>At the end of the stream: a held-back partial character can only be binary.</summary>
    public void Flush(Action<ReadOnlySpan<byte>, bool> emit)
    {
        if (_pendingLength > 0)
        {
            emit(_pending.AsSpan(0, _pendingLength), false);
            _pendingLength = 0;
        }
    }

    /// <summary>The length of <paramref name="data"/> without a trailing, incomplete UTF-8 sequence.</summary>
    internal static int CompletePrefixLength(ReadOnlySpan<byte> data)
    {
        for (var back = 1; back <= Math.Min(3, data.Length); back++)
        {
            var b = data[^back];
            if ((b & 0xC0) == 0x80)
            {
                continue;
            }

            var needed = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return needed > back ? data.Length - back : data.Length;
        }

        return data.Length;
    }
}

/// <summary>How an exec response is shaped, chosen by the request's <c>Accept</c> header.</summary>
internal enum ExecFormat
{
    NdJson,
    ServerSentEvents,
    Buffered,
}

/// <summary>
/// Writes exec events to a streaming response, NDJSON or SSE: one JSON object per output piece, then one with the
/// exit. Each piece is flushed as it arrives; nothing is kept, so memory stays constant whatever the output size.
/// </summary>
internal sealed class ExecStreamWriter : IDisposable
{
    private readonly JsonEventStream _stream;
    private readonly Utf8ChunkSplitter _stdout = new();
    private readonly Utf8ChunkSplitter _stderr = new();

    public ExecStreamWriter(Stream body, bool sse) => _stream = new JsonEventStream(body, sse);

    public long StdoutBytes { get; private set; }

    public long StderrBytes { get; private set; }

    public async ValueTask WriteOutputAsync(ExecEvent item, CancellationToken cancellationToken)
    {
        var data = item.Data ?? [];
        var stdout = item.Kind == ExecEventKind.Stdout;
        if (stdout)
        {
            StdoutBytes += data.Length;
            _stdout.Push(data, (piece, text) => AppendChunk("stdout", piece, text));
        }
        else
        {
            StderrBytes += data.Length;
            _stderr.Push(data, (piece, text) => AppendChunk("stderr", piece, text));
        }

        await _stream.FlushAsync(cancellationToken);
    }

    public async ValueTask WriteExitAsync(ExecExit exit, CancellationToken cancellationToken)
    {
        _stdout.Flush((piece, text) => AppendChunk("stdout", piece, text));
        _stderr.Flush((piece, text) => AppendChunk("stderr", piece, text));
        var json = _stream.Begin("exit");
        json.WriteStartObject();
        WriteExitFields(json, exit);
        json.WriteNumber("stdout_bytes", StdoutBytes);
        json.WriteNumber("stderr_bytes", StderrBytes);
        json.WriteEndObject();
        _stream.End();
        await _stream.FlushAsync(cancellationToken);
    }

    /// <summary>A failure after the response started: the status line is gone, so the problem is the last line.</summary>
    public ValueTask WriteErrorAsync(string type, string title, string detail, CancellationToken cancellationToken) =>
        _stream.WriteErrorAsync(type, title, detail, cancellationToken);

    /// <summary>An SSE comment: keeps proxies from closing a stream while a command is silent.</summary>
    public ValueTask WriteKeepAliveAsync(CancellationToken cancellationToken) => _stream.WriteKeepAliveAsync(cancellationToken);

    public void Dispose() => _stream.Dispose();

    internal static void WriteExitFields(Utf8JsonWriter json, ExecExit exit)
    {
        if (exit.ExitCode is { } code)
        {
            json.WriteNumber("exit_code", code);
        }
        else
        {
            json.WriteNull("exit_code");
        }

        json.WriteString("signal", exit.Signal);
        json.WriteBoolean("timed_out", exit.TimedOut);
        json.WriteBoolean("cancelled", exit.Cancelled);
        json.WriteNumber("duration_ms", (long)exit.Duration.TotalMilliseconds);
    }

    private void AppendChunk(string stream, ReadOnlySpan<byte> piece, bool text)
    {
        var json = _stream.Begin(stream);
        json.WriteStartObject();
        json.WriteString("stream", stream);
        if (text)
        {
            json.WriteString("data", piece);
        }
        else
        {
            json.WriteBase64String("data_base64", piece);
        }

        json.WriteEndObject();
        _stream.End();
    }
}

/// <summary>Collects one stream for a buffered (<c>application/json</c>) answer, keeping at most a cap of bytes.</summary>
internal sealed class CappedOutput(int cap)
{
    private readonly ArrayBufferWriter<byte> _kept = new();

    public long Total { get; private set; }

    public bool Truncated => Total > _kept.WrittenCount;

    public void Add(ReadOnlySpan<byte> data)
    {
        Total += data.Length;
        var room = cap - _kept.WrittenCount;
        if (room > 0)
        {
            _kept.Write(data[..Math.Min(room, data.Length)]);
        }
    }

    /// <summary>Writes <c>{name}</c> as text when the kept bytes are UTF-8 (a character cut by the cap is dropped), else <c>{name}_base64</c>.</summary>
    public void WriteTo(Utf8JsonWriter json, string name)
    {
        var kept = _kept.WrittenSpan;
        var text = Truncated ? kept[..Utf8ChunkSplitter.CompletePrefixLength(kept)] : kept;
        if (Utf8.IsValid(text))
        {
            json.WriteString(name, text);
            json.WriteNull(name + "_base64");
        }
        else
        {
            json.WriteNull(name);
            json.WriteBase64String(name + "_base64", kept);
        }
    }
}
