using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Orchestrator.Gateway.Streaming;

/// <summary>
/// Frames JSON objects on a streaming answer, as Server-Sent Events (<c>id:</c>, <c>event:</c>, <c>data:</c>, a blank
/// line) or as NDJSON (one object per line), so exec output and run events share one way of writing either.
/// </summary>
internal sealed class JsonEventStream : IDisposable
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Stream _body;
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private readonly Utf8JsonWriter _json;

    public JsonEventStream(Stream body, bool serverSentEvents)
    {
        _body = body;
        ServerSentEvents = serverSentEvents;
        _json = new Utf8JsonWriter(_buffer, WriterOptions);
    }

    public bool ServerSentEvents { get; }

    /// <summary>Starts one object: its SSE header when framing as SSE; the object goes to the writer returned.</summary>
    public Utf8JsonWriter Begin(string eventName, long? id = null)
    {
        if (ServerSentEvents)
        {
            if (id is { } sequence)
            {
                Ascii("id: ");
                Ascii(sequence.ToString(CultureInfo.InvariantCulture));
                Ascii("\n");
            }

            Ascii("event: ");
            Ascii(eventName);
            Ascii("\ndata: ");
        }

        _json.Reset(_buffer);
        return _json;
    }

    /// <summary>Ends the object begun last; it is sent with the next <see cref="FlushAsync"/>.</summary>
    public void End()
    {
        _json.Flush();
        Ascii(ServerSentEvents ? "\n\n" : "\n");
    }

    /// <summary>A failure after the answer started: the status line is gone, so the problem is the last object.</summary>
    public async ValueTask WriteErrorAsync(string type, string title, string detail, CancellationToken cancellationToken)
    {
        var json = Begin("error");
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("type", type);
        json.WriteString("title", title);
        json.WriteString("detail", detail);
        json.WriteEndObject();
        json.WriteEndObject();
        End();
        await FlushAsync(cancellationToken);
    }

    /// <summary>An SSE comment that keeps proxies from closing a quiet stream; NDJSON has no comments, so nothing.</summary>
    public async ValueTask WriteKeepAliveAsync(CancellationToken cancellationToken)
    {
        if (ServerSentEvents)
        {
            Ascii(": keep-alive\n\n");
            await FlushAsync(cancellationToken);
        }
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_buffer.WrittenCount > 0)
        {
            await _body.WriteAsync(_buffer.WrittenMemory, cancellationToken);
            _buffer.ResetWrittenCount();
        }

        await _body.FlushAsync(cancellationToken);
    }

    public void Dispose() => _json.Dispose();

    private void Ascii(string text)
    {
        var span = _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        _buffer.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
