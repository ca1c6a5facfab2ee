using System.Globalization;
using Orchestrator.Gateway.Instances;

namespace Orchestrator.Gateway.Paging;

/// <summary>
/// The <c>limit</c> and <c>cursor</c> query parameters of a list paged by id (instances, tenants): one set of rules
/// and problems for every such list, so a client pages them all the same way.
/// </summary>
/// <param name="Limit">Items per page, from 1 to <see cref="MaxLimit"/>.</param>
/// <param name="Cursor">The last id of the previous page, or <see langword="null"/> for the first page.</param>
internal readonly record struct PageQuery(int Limit, string? Cursor)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 100;

    /// <summary>
    /// Reads <c>limit</c> (default <see cref="DefaultLimit"/>) and <c>cursor</c>; the answer is the 400 problem naming
    /// the parameter that is wrong, or <see langword="null"/>. A cursor is an id of the listed kind, which
    /// <paramref name="isId"/> recognises: anything else is not a cursor this API returned.
    /// </summary>
    public static IResult? TryRead(HttpRequest request, Func<string, bool> isId, out PageQuery page)
    {
        page = default;
        var limit = DefaultLimit;
        if (request.Query["limit"].FirstOrDefault() is { } rawLimit && (!int.TryParse(rawLimit, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            return InstanceProblems.Invalid("limit", $"must be a whole number from 1 to {MaxLimit}");
        }

        var cursor = request.Query["cursor"].FirstOrDefault();
        if (cursor is not null && !isId(cursor))
        {
            return InstanceProblems.Invalid("cursor", "is not a cursor this API returned");
        }

        page = new PageQuery(limit, cursor);
        return null;
    }
}
