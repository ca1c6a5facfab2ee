using System.Collections;

namespace Orchestrator.Hosting;

/// <summary>A log scope with one <c>request_id</c> property, which structured formatters write as a field.</summary>
public sealed class RequestIdScope(string id) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new(RequestIds.Key, id) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"{RequestIds.Key}:{id}";
}
