using System.Net;
using System.Text;
using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary><c>/api/secrets</c> over real HTTP on a silo on PostgreSQL: values go in and never come back out.</summary>
public sealed class SecretApiTests(WorkflowApiFixture fixture) : IClassFixture<WorkflowApiFixture>
{
    private const string Problems = "https://orchestrator.dev/problems/";

    private HttpClient Http => fixture.Silo.Http;

    [Fact]
    public async Task PutCreatesThenReplacesListShowsNamesAndDeleteRemoves()
    {
        var name = $"API_{Guid.NewGuid():N}".ToUpperInvariant();
        var value = $"value-{Guid.NewGuid():N}";

        using var created = await Http.PutAsJsonAsync($"/api/secrets/{name}", new { value });
        var createdText = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, createdText);
        Assert.Equal($"/api/secrets/{name}", created.Headers.Location?.OriginalString);
        using var replaced = await Http.PutAsJsonAsync($"/api/secrets/{name}", new { value = value + "2" });
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);

        var listText = await Http.GetStringAsync("/api/secrets");
        var item = JsonSerializer.Deserialize<JsonElement>(listText).GetProperty("items").EnumerateArray().Single(i => i.GetProperty("name").GetString() == name);
        Assert.Equal(["name", "created_at", "updated_at"], item.EnumerateObject().Select(p => p.Name));
        Assert.DoesNotContain(value, createdText + listText + await replaced.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var deleted = await Http.DeleteAsync($"/api/secrets/{name}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await ProblemAssert.IsAsync(await Http.DeleteAsync($"/api/secrets/{name}"), HttpStatusCode.NotFound, Problems + "not-found", field: null);
        Assert.DoesNotContain(name, await Http.GetStringAsync("/api/secrets"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lower_case", """{"value":"x"}""", "name")]
    [InlineData("OK_NAME", """{"value":""}""", "value")]
    [InlineData("OK_NAME", """{"value":42}""", "value")]
    [InlineData("OK_NAME", """{}""", "value")]
    [InlineData("OK_NAME", """{"value":"x","extra":1}""", "extra")]
    [InlineData("OK_NAME", """{"value":"a\u0000b"}""", "value")]
    [InlineData("OK_NAME", """["x"]""", "body")]
    public async Task BadInputIsAProblemNamingTheFieldAndStoresNothing(string name, string body, string field)
    {
        using var response = await Http.PutAsync($"/api/secrets/{name}", new StringContent(body, Encoding.UTF8, "application/json"));

        await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, Problems + "validation", field);
        Assert.DoesNotContain("\"OK_NAME\"", await Http.GetStringAsync("/api/secrets"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherTenantNeitherSeesNorDeletesTheSecret()
    {
        var name = $"ISO_{Guid.NewGuid():N}".ToUpperInvariant();
        using (var created = await Http.PutAsJsonAsync($"/api/secrets/{name}", new { value = "mine" }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var other = new HttpClient { BaseAddress = Http.BaseAddress };
        other.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(await ApiKeys.CreateTenantKeyAsync(Http.BaseAddress!, "other-secrets"));

        Assert.DoesNotContain(name, await other.GetStringAsync("/api/secrets"), StringComparison.Ordinal);
        await ProblemAssert.IsAsync(await other.DeleteAsync($"/api/secrets/{name}"), HttpStatusCode.NotFound, Problems + "not-found", field: null);
        Assert.Contains(name, await Http.GetStringAsync("/api/secrets"), StringComparison.Ordinal);
    }
}
