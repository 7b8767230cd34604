"""Views decorated as the seed's docs decorate theirs. Each counts its renders, so tests
see whether an answer came from the cache or from the view."""

import collections

from django.http import HttpResponse, JsonResponse

from tiercache import cached_api, cached_method, cached_view, conditional_cache

renders = collections.Counter()


@cached_view(timeout=600, key_prefix="dashboard", vary_on=["Accept-Language"],
             tags=["dashboard", "stats"])
def dashboard(request):
    renders["dashboard"] += 1
    language = request.META.get("HTTP_ACCEPT_LANGUAGE", "none")
    return HttpResponse(f"dashboard in {language}, render {renders['dashboard']}",
                        content_type="text/plain; charset=utf-8")


@cached_api(timeout=300, vary_on_auth=True, vary_on_params=True, cache_errors=False)
def api_me(request):
    renders["api_me"] += 1
    name = request.user.username if request.user.is_authenticated else "anonymous"
    return JsonResponse({"user": name, "render": renders["api_me"]})


@cached_api(timeout=300, cache_errors=False)
def api_broken(request):
    renders["api_broken"] += 1
    return JsonResponse({"error": "boom", "render": renders["api_broken"]}, status=500)


@cached_api(timeout=300, cache_errors=True)
def api_broken_cached(request):
    renders["api_broken_cached"] += 1
    return JsonResponse({"error": "boom", "render": renders["api_broken_cached"]}, status=500)


@conditional_cache(condition_func=lambda request: not request.user.is_staff, timeout=300)
def public(request):
    renders["public"] += 1
    return HttpResponse(f"public, render {renders['public']}")


@cached_view(timeout=300, key_prefix="profile",
             tags=lambda request, user_id: [f"user:{user_id}"])
def profile(request, user_id):
    renders["profile"] += 1
    return HttpResponse(f"profile {user_id}, render {renders['profile']}")


class DataService:
    calls = collections.Counter()

    @cached_method(timeout=300, key_func=lambda self, user_id: f"user_data:{user_id}",
                   tags_func=lambda self, user_id: [f"user:{user_id}"])
    def get_user_data(self, user_id):
        self.calls[user_id] += 1
        return {"id": user_id, "computed": self.calls[user_id]}
