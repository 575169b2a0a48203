"""Web UI routes of identity and tenancy (namespace `accounts`), mounted at the site root by portal.ui.urls.

Each area keeps its views and routes in one module of accounts.views: domains/accounts/users
(`tenancy`), roles and their rules (`roles`), the caller's own profile (`profile`), LDAP settings (`ldap`)
and resource limits (`limits`).
"""

from accounts.views import ldap, limits, profile, roles, tenancy

app_name = "accounts"

urlpatterns = [
    *tenancy.urlpatterns,
    *roles.urlpatterns,
    *profile.urlpatterns,
    *ldap.urlpatterns,
    *limits.urlpatterns,
]
