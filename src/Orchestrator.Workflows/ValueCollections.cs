using System.Collections;

namespace Orchestrator.Workflows;

/// <summary>
/// An immutable list with value equality, so that definition records read from YAML and from JSON
/// compare equal when their content is equal (records alone compare collections by reference).
/// </summary>
public sealed class ValueList<T> : IReadOnlyList<T>, IEquatable<ValueList<T>>
{
    private readonly T[] _items;

    public ValueList(IEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        _items = [.. items];
    }

    public int Count => _items.Length;

    public T this[int index] => _items[index];

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(ValueList<T>? other) =>
        other is not null && _items.AsSpan().SequenceEqual(other._items, EqualityComparer<T>.Default);

    public override bool Equals(object? obj) => Equals(obj as ValueList<T>);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in _items)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }
}

/// <summary>
/// An immutable string-keyed map that keeps the order its keys were written in (error messages and
/// schemas read better in source order) and compares by value.
/// </summary>
public sealed class ValueDictionary<TValue> : IReadOnlyDictionary<string, TValue>, IEquatable<ValueDictionary<TValue>>
{
    private readonly KeyValuePair<string, TValue>[] _entries;
    private readonly Dictionary<string, TValue> _lookup;

    public ValueDictionary(IEnumerable<KeyValuePair<string, TValue>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        _entries = [.. entries];
        _lookup = new Dictionary<string, TValue>(StringComparer.Ordinal);
        foreach (var (key, value) in _entries)
        {
            // First occurrence wins; readers report duplicate keys as errors before building maps.
            _lookup.TryAdd(key, value);
        }
    }

    public int Count => _lookup.Count;

    public IEnumerable<string> Keys => _entries.Select(static e => e.Key);

    public IEnumerable<TValue> Values => _entries.Select(static e => e.Value);

    public TValue this[string key] => _lookup[key];

    public bool ContainsKey(string key) => _lookup.ContainsKey(key);

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TValue value) =>
        _lookup.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, TValue>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, TValue>>)_entries).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _entries.GetEnumerator();

    public bool Equals(ValueDictionary<TValue>? other)
    {
        if (other is null || other._entries.Length != _entries.Length)
        {
            return false;
        }

        for (var i = 0; i < _entries.Length; i++)
        {
            if (!string.Equals(_entries[i].Key, other._entries[i].Key, StringComparison.Ordinal)
                || !EqualityComparer<TValue>.Default.Equals(_entries[i].Value, other._entries[i].Value))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as ValueDictionary<TValue>);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var (key, value) in _entries)
        {
            hash.Add(key, StringComparer.Ordinal);
            hash.Add(value);
        }

        return hash.ToHashCode();
    }
}
