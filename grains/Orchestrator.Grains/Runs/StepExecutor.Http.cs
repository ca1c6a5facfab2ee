using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Grains.Instances;
using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary><c>http.check</c>: polls a URL, reaching only what the tenant may reach.</summary>
internal sealed partial class StepExecutor
{
    private async Task<JsonObject> HttpCheckAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var url = new Uri(with.GetString("url"), UriKind.Absolute);
        var expected = with.GetOptionalIntegers("expect_status")?.ToHashSet() ?? [200];
        var deadline = time.GetUtcNow() + (with.GetOptionalDuration("timeout") ?? Options.HttpCheckTimeout);
        var interval = with.GetOptionalDuration("interval") ?? Options.HttpCheckInterval;
        // Connects run on the thread pool, but grain calls may only be made from the run grain's own scheduler.
        var grainScheduler = TaskScheduler.Current;
        using var client = httpChecks.Create(() =>
            Task.Factory.StartNew(() => TenantPrivateAddressesAsync(attempt), CancellationToken.None, TaskCreationOptions.None, grainScheduler).Unwrap());
        string last = "no answer yet";
        while (true)
        {
            try
            {
                // Headers first: a body is read only when the status is the one expected, and only as far as the
                // captures can use it; the rest is never fetched (a URL may answer with an endless stream).
                using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (expected.Contains((int)response.StatusCode))
                {
                    var body = await ReadBodyHeadAsync(response.Content, Options.MaxCapturedOutputBytes, cancellationToken);
                    return CapturedOutputs(
                        attempt,
                        new Dictionary<OutputSource, string> { [OutputSource.Body] = body },
                        new Dictionary<string, WorkflowValue>
                        {
                            ["status"] = WorkflowValue.From((int)response.StatusCode),
                            ["body"] = WorkflowValue.From(OutputHead(attempt.Run.Redact(body), alreadyTruncated: false, Options.MaxStepOutputBytes).Head),
                        });
                }

                last = $"status {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex) when (ex.InnerException is HttpCheckRefusedException refused)
            {
                // Asking again cannot help: the address is what it is.
                throw new InvalidOperationException(refused.Url == url || refused.Url is null
                    ? $"http.check refused {url}: {refused.Reason}; {HttpCheckRule}"
                    : $"http.check refused {url}: it redirected to {refused.Url}, and {refused.Reason}; {HttpCheckRule}");
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }

            if (time.GetUtcNow() + interval > deadline)
            {
                throw new TimeoutException($"{url} did not answer {string.Join(" or ", expected)} in time (last: {last})");
            }

            await Task.Delay(interval, time, cancellationToken);
        }
    }

    /// <summary>The body as text, up to <paramref name="maxChars"/> characters; reading stops there.</summary>
    private static async Task<string> ReadBodyHeadAsync(HttpContent content, int maxChars, CancellationToken cancellationToken)
    {
        var text = new CappedText(maxChars);
        var decoder = Encoding.UTF8.GetDecoder();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            var body = await content.ReadAsStreamAsync(cancellationToken);
            await using (body.ConfigureAwait(true))
            {
                int read;
                while (!text.Truncated && (read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    text.Append(Decode(decoder, buffer.AsSpan(0, read)));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return text.ToString();
    }

    private const string HttpCheckRule =
        "a check may reach public addresses and the private addresses of the tenant's own instances (" + HttpCheckOptions.SectionName + ":AllowedNetworks allows more)";

    /// <summary>The private addresses of the instances of the run's tenant that are not destroyed.</summary>
    private static async Task<IReadOnlySet<System.Net.IPAddress>> TenantPrivateAddressesAsync(StepAttempt attempt)
    {
        var index = attempt.Run.Grains.GetGrain<IInstanceIndexGrain>(attempt.Run.Tenant);
        var addresses = new HashSet<System.Net.IPAddress>();
        string? cursor = null;
        do
        {
            var page = await index.ListAsync(new InstanceListQuery(InstanceIndexGrain.MaxLimit, cursor));
            foreach (var instance in page.Items)
            {
                if (instance.ObservedState != InstanceStates.Destroyed && System.Net.IPAddress.TryParse(instance.PrivateIp, out var address))
                {
                    addresses.Add(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
                }
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return addresses;
    }
}
