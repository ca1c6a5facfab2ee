using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Grains.Runs;
using Orchestrator.Workflows;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// What a step's captures keep in the run's checkpoint: each at most <see cref="WorkflowOptions.MaxStepOutputBytes"/>,
/// marked <c>&lt;name&gt;_truncated</c> when cut, while regex and JSON captures read up to
/// <see cref="WorkflowOptions.MaxCapturedOutputBytes"/> of the output.
/// </summary>
[Collection(FakeTimeCluster.Name)]
public sealed class RunGrainCaptureBoundTests(FakeTimeClusterFixture fixture)
{
    private static readonly int s_bound = new WorkflowOptions().MaxStepOutputBytes;

    private readonly RunDriver _runs = new(fixture);

    [Fact]
    public async Task CapturesOfAMebibyteBodyKeepAtMostTheBoundEachAndSayWhichWereCut()
    {
        var big = new string('x', 400 * 1024);
        var list = string.Join(',', Enumerable.Repeat("\"item\"", 50_000));
        // Under the 1 MiB that captures read (MaxCapturedOutputBytes), far over what an output keeps.
        var body = $$"""{"small":"ok","big":"{{big}}","list":[{{list}}],"tail":"{{new string('y', 200 * 1024)}}","end":42}""";
        using var endpoint = new LocalHttpEndpoint((_, _) => 200, (_, _) => body);
        var run = await _runs.StartAsync($$$"""
            name: captures
            steps:
              - id: check
                uses: http.check
                with: { url: "{{{endpoint.Url("big")}}}" }
                outputs:
                  all: body
                  small: { from: body, json: $.small }
                  big: { from: body, json: $.big }
                  list: { from: body, json: $.list }
                  last: { from: body, regex: '"end":(?<last>[0-9]+)' }
            outputs:
              all_cut: "${{ steps.check.outputs.all_truncated }}"
              small_cut: "${{ steps.check.outputs.small_truncated }}"
            """);

        var done = await RunDriver.UntilEndedAsync(run);

        Assert.Equal(RunStatuses.Succeeded, done.Status);
        var json = done.Steps.Single(s => s.Id == "check").OutputsJson;
        var outputs = JsonNode.Parse(json)!.AsObject();
        Assert.Equal(body[..s_bound], outputs["all"]!.GetValue<string>());
        Assert.True(outputs["all_truncated"]!.GetValue<bool>());
        Assert.Equal("ok", outputs["small"]!.GetValue<string>());
        Assert.False(outputs["small_truncated"]!.GetValue<bool>());
        Assert.Equal(big[..s_bound], outputs["big"]!.GetValue<string>());
        Assert.True(outputs["big_truncated"]!.GetValue<bool>());
        // A list cannot be cut into a meaningful part: past the bound it is dropped, and marked so.
        Assert.Null(outputs["list"]);
        Assert.True(outputs["list_truncated"]!.GetValue<bool>());
        // The regex read the whole body (under the capture limit): its match lies far past what any output keeps.
        Assert.Equal("42", outputs["last"]!.GetValue<string>());
        Assert.False(outputs["last_truncated"]!.GetValue<bool>());
        // The body itself (64 KiB) and two cut captures of 64 KiB each, and a little more: never the mebibyte.
        Assert.InRange(Encoding.UTF8.GetByteCount(json), 3 * s_bound, 3 * s_bound + 1024);
        Assert.Equal("true", JsonNode.Parse(done.OutputsJson)!["all_cut"]!.ToString());
        Assert.Equal("false", JsonNode.Parse(done.OutputsJson)!["small_cut"]!.ToString());
    }

    [Fact]
    public async Task AnEndlessBodyIsReadOnlyAsFarAsCapturesCanUseIt()
    {
        using var endless = new EndlessHttpEndpoint("build 7 ready\n");
        var run = await _runs.StartAsync($$$"""
            name: endless
            steps:
              - id: check
                uses: http.check
                with: { url: "{{{endless.Url}}}" }
                outputs:
                  all: body
                  build: { from: body, regex: 'build (?<build>[0-9]+) ready' }
            """);

        var done = await RunDriver.UntilEndedAsync(run);

        Assert.Equal(RunStatuses.Succeeded, done.Status);
        var outputs = JsonNode.Parse(done.Steps.Single(s => s.Id == "check").OutputsJson)!.AsObject();
        Assert.Equal("7", outputs["build"]!.GetValue<string>());
        Assert.StartsWith("build 7 ready\nzzzz", outputs["body"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(outputs["all_truncated"]!.GetValue<bool>());
        // The check stopped reading at the capture limit and hung up: the server saw its stream cut.
        await endless.Hangup.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.InRange(endless.Written, new WorkflowOptions().MaxCapturedOutputBytes, long.MaxValue);
    }

    [Fact]
    public void ACaptureIsMaskedBeforeItIsCutSoNoStartOfASecretIsKept()
    {
        // The secret straddles the bound: cut first, its start would be kept where masking cannot find it.
        var text = new string('x', 10) + "hunter2" + "rest";

        var (kept, truncated) = StepExecutor.BoundCapture(new StringValue(text), t => t.Replace("hunter2", "***", StringComparison.Ordinal), 12);

        Assert.Equal(new string('x', 10) + "**", kept!.GetValue<string>());
        Assert.True(truncated);
    }

    [Fact]
    public void ANumberOrAShortMappingIsKeptAsItIs()
    {
        var map = WorkflowValue.FromJsonNode(JsonNode.Parse("""{"a":[1,2]}"""));

        var (kept, truncated) = StepExecutor.BoundCapture(map, t => t, 64);
        var (number, numberTruncated) = StepExecutor.BoundCapture(WorkflowValue.From(7m), t => t, 1);

        Assert.Equal("""{"a":[1,2]}""", kept!.ToJsonString());
        Assert.False(truncated);
        Assert.Equal(7m, number!.GetValue<decimal>());
        Assert.False(numberTruncated);
    }
}

/// <summary>An HTTP server on loopback whose one answer is a 200 with a first line, then 'z' without end.</summary>
internal sealed class EndlessHttpEndpoint : IDisposable
{
    private readonly System.Net.HttpListener _listener = new();
    private readonly TaskCompletionSource _hangup = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly byte[] _first;
    private long _written;

    public EndlessHttpEndpoint(string firstLine)
    {
        _first = Encoding.UTF8.GetBytes(firstLine);
        Url = $"http://127.0.0.1:{Orchestrator.Testing.LoopbackPort.Free()}/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _ = ServeAsync();
    }

    public string Url { get; }

    /// <summary>Completes when a client stopped reading and its connection broke.</summary>
    public Task Hangup => _hangup.Task;

    public long Written => Interlocked.Read(ref _written);

    public void Dispose() => _listener.Close();

    private async Task ServeAsync()
    {
        var context = await _listener.GetContextAsync();
        context.Response.StatusCode = 200;
        context.Response.SendChunked = true;
        var chunk = Encoding.ASCII.GetBytes(new string('z', 64 * 1024));
        try
        {
            await context.Response.OutputStream.WriteAsync(_first);
            while (true)
            {
                await context.Response.OutputStream.WriteAsync(chunk);
                Interlocked.Add(ref _written, chunk.Length);
            }
        }
        catch (Exception ex) when (ex is System.Net.HttpListenerException or IOException or ObjectDisposedException)
        {
            _hangup.TrySetResult();
        }
    }
}
