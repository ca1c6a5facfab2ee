using System.Runtime.CompilerServices;
using Orchestrator.Gateway.Streaming;

namespace Orchestrator.Gateway.Tests;

/// <summary>Waiting for the next item of a streaming answer (exec output, run events) while keeping a quiet stream open.</summary>
public sealed class StreamingResponseTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AQuietStreamGetsAKeepAliveBeforeItsNextItem()
    {
        var keptAlive = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async IAsyncEnumerable<int> Items([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            yield return 1;
            // Silent until a keep-alive was sent.
            await keptAlive.Task.WaitAsync(Bound, cancellationToken);
            yield return 2;
        }

        var keepAlives = 0;
        ValueTask KeepAlive(CancellationToken _)
        {
            keepAlives++;
            keptAlive.TrySetResult();
            return ValueTask.CompletedTask;
        }

        await using var items = Items().GetAsyncEnumerator();
        Assert.True(await StreamingResponse.NextAsync(items, KeepAlive, TimeProvider.System, TimeSpan.FromMilliseconds(20), CancellationToken.None));
        Assert.Equal((1, 0), (items.Current, keepAlives));

        Assert.True(await StreamingResponse.NextAsync(items, KeepAlive, TimeProvider.System, TimeSpan.FromMilliseconds(20), CancellationToken.None));
        Assert.Equal(2, items.Current);
        Assert.True(keepAlives >= 1);
        Assert.False(await StreamingResponse.NextAsync(items, KeepAlive, TimeProvider.System, TimeSpan.FromMilliseconds(20), CancellationToken.None));
    }

    [Fact]
    public async Task CancellingTheWaitEndsItWithoutAKeepAlive()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var silent = new TaskCompletionSource();
        async IAsyncEnumerable<int> Items()
        {
            started.TrySetResult();
            // Ignores the caller's token: only the wait itself must end.
            await silent.Task;
            yield return 1;
        }

        var keepAlives = 0;
        using var cancel = new CancellationTokenSource();
        // Not disposed: its MoveNext is still pending when the test ends, which an async iterator refuses.
        var items = Items().GetAsyncEnumerator(CancellationToken.None);
        var next = StreamingResponse.NextAsync(items, _ => { keepAlives++; return ValueTask.CompletedTask; }, TimeProvider.System, TimeSpan.FromHours(1), cancel.Token);
        await started.Task.WaitAsync(Bound);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Bound));
        Assert.Equal(0, keepAlives);
    }
}
