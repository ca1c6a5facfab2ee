using System.Text;
using System.Text.Json;
using Orchestrator.Gateway.Instances;

namespace Orchestrator.Gateway.Tests;

public sealed class ExecOutputTests
{
    [Fact]
    public void ACharacterSplitAtAnyByteIsHeldBackAndSentAsText()
    {
        var text = "a€b😀c";
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var splitter = new Utf8ChunkSplitter();
            var pieces = new List<(string Text, bool IsText)>();
            void Emit(ReadOnlySpan<byte> piece, bool isText) => pieces.Add((isText ? Encoding.UTF8.GetString(piece) : Convert.ToBase64String(piece), isText));
            splitter.Push(bytes.AsSpan(0, cut), Emit);
            splitter.Push(bytes.AsSpan(cut), Emit);
            splitter.Flush(Emit);

            Assert.All(pieces, p => Assert.True(p.IsText, $"cut at {cut} produced base64"));
            Assert.Equal(text, string.Concat(pieces.Select(p => p.Text)));
        }
    }

    [Fact]
    public void InvalidBytesAndATruncatedTailAreBinary()
    {
        var splitter = new Utf8ChunkSplitter();
        var pieces = new List<(byte[] Bytes, bool IsText)>();
        void Emit(ReadOnlySpan<byte> piece, bool isText) => pieces.Add((piece.ToArray(), isText));

        splitter.Push([0x61, 0xFF, 0x62], Emit);
        splitter.Push([0x63, 0xE2, 0x82], Emit);
        splitter.Flush(Emit);

        Assert.Equal([(new byte[] { 0x61, 0xFF, 0x62 }, false), ("c"u8.ToArray(), true), (new byte[] { 0xE2, 0x82 }, false)], pieces.Select(p => (p.Bytes, p.IsText)), new PieceComparer());
    }

    [Fact]
    public void BufferedOutputKeepsTheCapWithoutCuttingACharacterAndCountsEverything()
    {
        var output = new CappedOutput(cap: 4);
        output.Add(Encoding.UTF8.GetBytes("ab€€"));
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            output.WriteTo(json, "stdout");
            json.WriteEndObject();
        }

        var written = JsonSerializer.Deserialize<JsonElement>(stream.ToArray());
        Assert.Equal("ab", written.GetProperty("stdout").GetString());
        Assert.Equal(JsonValueKind.Null, written.GetProperty("stdout_base64").ValueKind);
        Assert.True(output.Truncated);
        Assert.Equal(8, output.Total);
    }

    [Theory]
    [InlineData(null, "NdJson")]
    [InlineData("*/*", "NdJson")]
    [InlineData("application/x-ndjson", "NdJson")]
    [InlineData("text/event-stream", "ServerSentEvents")]
    [InlineData("application/json", "Buffered")]
    [InlineData("application/json, application/x-ndjson", "NdJson")]
    [InlineData("application/json;q=0, text/event-stream", "ServerSentEvents")]
    public void TheAcceptHeaderChoosesTheFormat(string? accept, string expected)
    {
        var context = new DefaultHttpContext();
        if (accept is not null)
        {
            context.Request.Headers.Accept = accept;
        }

        Assert.Equal(Enum.Parse<ExecFormat>(expected), ExecEndpoints.ChooseFormat(context.Request));
    }

    [Theory]
    [InlineData("""{"type":"resize","cols":80,"rows":24}""", null)]
    [InlineData("""{"type":"resize","cols":80}""", "resize needs")]
    [InlineData("""{"type":"paste"}""", "must be 'resize'")]
    [InlineData("""not json""", "not valid JSON")]
    [InlineData("""{"type":"resize","cols":5000,"rows":24}""", "resize needs")]
    public void ControlMessagesAreCheckedBeforeUse(string message, string? problem)
    {
        var (resize, result) = TerminalRelay.ParseControl(Encoding.UTF8.GetBytes(message));
        if (problem is null)
        {
            Assert.Null(result);
            Assert.Equal((80, 24), (resize!.Cols, resize.Rows));
        }
        else
        {
            Assert.Null(resize);
            Assert.Contains(problem, result, StringComparison.Ordinal);
        }
    }

    private sealed class PieceComparer : IEqualityComparer<(byte[] Bytes, bool IsText)>
    {
        public bool Equals((byte[] Bytes, bool IsText) x, (byte[] Bytes, bool IsText) y) => x.IsText == y.IsText && x.Bytes.AsSpan().SequenceEqual(y.Bytes);

        public int GetHashCode((byte[] Bytes, bool IsText) obj) => obj.Bytes.Length;
    }
}
