using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

namespace Orchestrator.IntegrationTests;

/// <summary>Runs alone: it measures the live memory of the whole test process, which other test classes would disturb.</summary>
[CollectionDefinition(nameof(MemoryMeasurement), DisableParallelization = true)]
public sealed class MemoryMeasurement;

[Collection(nameof(MemoryMeasurement))]
public sealed class ExecMemoryTests(ExecFixture fixture) : IClassFixture<ExecFixture>
{
    [Fact]
    public async Task TwoHundredMegabytesStreamInConstantMemory()
    {
        const long size = 200L * 1024 * 1024;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/instances/box/exec")
        {
            Content = JsonContent.Create(new { command = $"head -c {size} /dev/zero | tr '\\0' 'x'" }),
        };
        using var response = await fixture.Silo.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var stream = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(stream);
        long received = 0;
        long peakLive = 0;
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var lines = 0;
        JsonElement? exit = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            var item = JsonSerializer.Deserialize<JsonElement>(line);
            if (item.TryGetProperty("data", out var data))
            {
                received += data.GetString()!.Length;
            }
            else if (item.TryGetProperty("exit_code", out _))
            {
                exit = item;
            }

            if (++lines % 1000 == 0)
            {
                // Live memory of this process, which runs the silo, the gateway and this client.
                peakLive = Math.Max(peakLive, GC.GetTotalMemory(forceFullCollection: true) - baseline);
            }
        }

        Assert.Equal(size, received);
        Assert.NotNull(exit);
        Assert.Equal(0, exit.Value.GetProperty("exit_code").GetInt32());
        Assert.Equal(size, exit.Value.GetProperty("stdout_bytes").GetInt64());
        // Buffering the stream would keep at least its 200 MB (400 MB as .NET strings); what is live besides the bounded
        // pipeline is the rest of the process (silo, gateway, fixtures), which varies with the load of the machine.
        Assert.True(peakLive < 100L * 1024 * 1024, $"live memory grew by {peakLive / (1024 * 1024)} MB while streaming 200 MB");
    }

    [Fact]
    public async Task TwoHundredMegabytesOfStreamedStdinPassInConstantMemory()
    {
        const long size = 200L * 1024 * 1024;
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        using var exec = await ExecSocketClient.ConnectAsync(fixture.Silo.BaseAddress, fixture.Silo.TenantKey, ExecFixture.Box, "command=wc%20-c", bound.Token);
        var output = exec.ReceiveAsync(bound.Token);

        var frame = new byte[64 * 1024];
        Random.Shared.NextBytes(frame);
        long peakLive = 0;
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        for (long sent = 0, frames = 0; sent < size; sent += frame.Length)
        {
            await exec.Socket.SendAsync(frame, WebSocketMessageType.Binary, true, bound.Token);
            if (++frames % 100 == 0)
            {
                // Live memory of this process, which runs the silo, the gateway and this client.
                peakLive = Math.Max(peakLive, GC.GetTotalMemory(forceFullCollection: true) - baseline);
            }
        }

        await exec.SendEofAsync(bound.Token);
        var result = await output;
        await exec.CloseAsync(bound.Token);

        Assert.True(result.Exit is not null, $"no exit message; error {result.Error}");
        Assert.Equal(0, result.Exit.Value.GetProperty("exit_code").GetInt32());
        Assert.Equal($"{size}\n", result.StdoutHead);
        // Buffering the input anywhere on the way (socket, gateway, grain) would keep up to all 200 MB of it.
        Assert.True(peakLive < 100L * 1024 * 1024, $"live memory grew by {peakLive / (1024 * 1024)} MB while streaming 200 MB of stdin");
    }
}
