-- Scenarios: request kind -> weight (any positive numbers). deploy/loadtest runs them by name.
return {
  -- references and single endpoints (the goals compare these)
  static = { static = 1 },
  hello = { hello = 1 },
  php = { php = 1 },
  ["hello-api"] = { hello_api = 1 },
  ["php-api"] = { php_api = 1 },
  ["hello-list-api"] = { hello_list_api = 1 },
  ["hello-api-pa"] = { hello_api_pa = 1 },
  ["php-api-pa"] = { php_api_pa = 1 },
  ["hello-api-dir"] = { hello_api_dir = 1 },
  ["php-api-dir"] = { php_api_dir = 1 },
  healthz = { healthz = 1 },
  ["lp-get-one"] = { lp_get_one = 1 },
  ["lp-list"] = { lp_list = 1 },
  ["lp-list-cohort"] = { lp_list_cohort = 1 },
  ["lp-list-since"] = { lp_list_updated_since = 1 },
  ["lp-list-newest"] = { lp_list_newest_first = 1 },
  ["lp-list-by-updated"] = { lp_list_by_updated = 1 },
  ["lp-create"] = { lp_create = 1 },
  ["pa-get-one"] = { pa_get_one = 1 },
  ["dir-get-one"] = { dir_get_entry = 1 },

  -- mixes
  ["read-heavy"] = { lp_get_one = 35, lp_list = 5, lp_delivery_partners = 5, pa_get_one = 30, pa_list = 20,
                     lp_create = 2, lp_update = 1, pa_create = 1, pa_update = 1 },
  ["write-heavy"] = { lp_create = 40, lp_update = 15, pa_create = 15, pa_update = 10, lp_get_one = 10, pa_get_one = 10 },
  -- a lead provider syncing: mostly its own partnerships, some creates and changes
  ["lp-mix"] = { lp_get_one = 40, lp_list = 10, lp_list_since = 10, lp_delivery_partners = 10, lp_create = 20, lp_update = 10 },
  -- the Partners API as its UI uses it
  ["pa-mix"] = { pa_get_one = 45, pa_list = 30, pa_create = 10, pa_update = 15 },
  -- a directory site: entry pages, listings (private and public), some reviews and contact requests
  ["dir-mix"] = { dir_get_entry = 40, dir_list_entries = 20, dir_public_listing = 20, dir_create_review = 10,
                  dir_create_contact_request = 10 },
  -- soak: everything at once
  soak = { lp_get_one = 25, lp_list = 5, lp_delivery_partners = 5, pa_get_one = 20, pa_list = 15,
           lp_create = 12, lp_update = 5, pa_create = 8, pa_update = 5 },
}
