-- The request kinds the load test mixes, one function per kind, grouped by API family. Each returns
-- a raw HTTP request (wrk.format). Payloads are valid and, for creates, unique: `ctx:next(name)`
-- hands out indexes no earlier request of this load test run used (see run.lua), and the seed
-- (partnerships-bench bench-seed) gave schools, providers and delivery partners fixed ids.
local R = {}

local function auth(token)
  return { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

-- Same shape as BenchSeedCommand.fixedID: a valid UUID ending in the decimal index.
local function fixed_id(kind, index)
  return string.format("%s-0000-4000-8000-%012d", kind, index)
end

local cohorts = { "2025", "2026" }  -- BenchSeedCommand.cohorts: both open

-- Reference targets, served by the same nginx (nginx/snippets/bench-routes.conf).
function R.static(ctx) return wrk.format("GET", "/_bench/static.json") end
function R.hello(ctx) return wrk.format("GET", "/_bench/hello") end
function R.php(ctx) return wrk.format("GET", "/_bench/php") end
-- The same hello worlds behind the API's own location settings, asked as lp_get_one asks (its
-- Authorization header): the fair references for a GET one.
function R.hello_api(ctx) return wrk.format("GET", "/_bench/hello-api", auth(ctx.seed.PROVIDER_0_TOKEN)) end
function R.php_api(ctx) return wrk.format("GET", "/_bench/php-api", auth(ctx.seed.PROVIDER_0_TOKEN)) end
-- The C hello sending the bytes of one page of 100 partnerships (as lp_list asks): the list's reference.
function R.hello_list_api(ctx) return wrk.format("GET", "/_bench/hello-list-api", auth(ctx.seed.PROVIDER_0_TOKEN)) end
-- Both hello worlds sending a Partners partnership's and a Directory entry's bytes (larger than a Lead
-- Provider partnership's), asked as pa_get_one and dir_get_entry ask: those GET ones' references.
function R.hello_api_pa(ctx) return wrk.format("GET", "/_bench/hello-api-pa", auth(ctx.seed.STAFF_TOKEN)) end
function R.php_api_pa(ctx) return wrk.format("GET", "/_bench/php-api-pa", auth(ctx.seed.STAFF_TOKEN)) end
function R.hello_api_dir(ctx)
  return wrk.format("GET", "/_bench/hello-api-dir", { ["Authorization"] = ctx.directory.DIRECTORY_KEY })
end
function R.php_api_dir(ctx)
  return wrk.format("GET", "/_bench/php-api-dir", { ["Authorization"] = ctx.directory.DIRECTORY_KEY })
end
function R.healthz(ctx) return wrk.format("GET", "/healthz") end

-- Lead Provider API v3. Provider 0 owns the listed partnerships, provider 1 the update targets,
-- providers 2.. create.
function R.lp_get_one(ctx)
  local ids = ctx.list_ids
  return wrk.format("GET", "/api/v3/partnerships/" .. ids[math.random(#ids)], auth(ctx.seed.PROVIDER_0_TOKEN))
end

function R.lp_list(ctx)
  local pages = math.floor(tonumber(ctx.seed.SEED_PARTNERSHIPS) / 100)
  return wrk.format("GET", "/api/v3/partnerships?page[per_page]=100&page[page]=" .. math.random(pages),
                    auth(ctx.seed.PROVIDER_0_TOKEN))
end

-- The same page size with each filter or sort a lead provider uses when syncing (issue 15: each
-- within 1.5x of the plain list). The seed's partnerships are spread over both open cohorts and were
-- all updated after 2020, so every filtered page is full.
local function lp_page(ctx, query)
  local pages = math.floor(tonumber(ctx.seed.SEED_PARTNERSHIPS) / 100)
  return wrk.format("GET", "/api/v3/partnerships?page[per_page]=100&" .. query .. "&page[page]=" .. math.random(math.floor(pages / 2)),
                    auth(ctx.seed.PROVIDER_0_TOKEN))
end
function R.lp_list_cohort(ctx) return lp_page(ctx, "filter[cohort]=" .. cohorts[math.random(#cohorts)]) end
function R.lp_list_updated_since(ctx) return lp_page(ctx, "filter[updated_since]=2020-01-01T00:00:00Z") end
function R.lp_list_newest_first(ctx) return lp_page(ctx, "sort=-created_at") end
function R.lp_list_by_updated(ctx) return lp_page(ctx, "sort=updated_at") end

function R.lp_list_since(ctx)
  return wrk.format("GET", "/api/v3/partnerships?filter[cohort]=2026&filter[updated_since]=2030-01-01T00:00:00Z",
                    auth(ctx.seed.PROVIDER_0_TOKEN))
end

function R.lp_delivery_partners(ctx)
  return wrk.format("GET", "/api/v3/delivery-partners", auth(ctx.seed.PROVIDER_0_TOKEN))
end

function R.lp_create(ctx)
  local creators, schools = tonumber(ctx.seed.SEED_CREATORS), tonumber(ctx.seed.SEED_SCHOOLS)
  local g = ctx:next("lp_create")
  local creator, rest = g % creators, math.floor(g / creators)
  local body = string.format(
    '{"data":{"type":"partnership","attributes":{"cohort":"%s","school_id":"%s","delivery_partner_id":"%s"}}}',
    cohorts[math.floor(rest / schools) + 1] or "capacity-exhausted", fixed_id("5c000000", rest % schools), fixed_id("d0000000", 0))
  return wrk.format("POST", "/api/v3/partnerships", auth(ctx.seed["PROVIDER_" .. (2 + creator) .. "_TOKEN"]), body)
end

-- Each update target is updated once per load test run (delivery partner 0 -> 1), so every
-- update is valid whatever ran before it.
function R.lp_update(ctx)
  local g = ctx:next("lp_update")
  local id = ctx.update_ids[g + 1] or "capacity-exhausted"
  local body = string.format('{"data":{"type":"partnership","attributes":{"delivery_partner_id":"%s"}}}', fixed_id("d0000000", 1))
  return wrk.format("PUT", "/api/v3/partnerships/" .. id, auth(ctx.seed.PROVIDER_1_TOKEN), body)
end

-- Partners API v1 (staff token). deploy/loadtest seeded PA_PROJECTS projects and PA_PARTNERS
-- partners; partnerships 1..2*PA_PROJECTS pair each project with partners 1 and 2.
function R.pa_get_one(ctx)
  return wrk.format("GET", "/v1/partnerships/" .. math.random(2 * ctx.pa_projects), auth(ctx.seed.STAFF_TOKEN))
end

function R.pa_list(ctx)
  return wrk.format("GET", "/v1/projects/" .. math.random(ctx.pa_projects) .. "/partnerships", auth(ctx.seed.STAFF_TOKEN))
end

function R.pa_create(ctx)
  local g = ctx:next("pa_create")
  local project, partner = 1 + g % ctx.pa_projects, 3 + math.floor(g / ctx.pa_projects)
  if partner > ctx.pa_partners then partner = 0 end  -- capacity exhausted: answers 400, counted
  return wrk.format("POST", "/v1/projects/" .. project .. "/partnerships", auth(ctx.seed.STAFF_TOKEN),
                    string.format('{"partner_id":%d,"is_support":%s}', partner, g % 2 == 0 and "true" or "false"))
end

function R.pa_update(ctx)
  return wrk.format("PATCH", "/v1/partnerships/" .. math.random(2 * ctx.pa_projects), auth(ctx.seed.STAFF_TOKEN),
                    string.format('{"is_support":%s}', math.random(2) == 1 and "true" or "false"))
end

-- Directory API: the demo directory (partnerships directory demo) and its all-permissions key,
-- sent raw in Authorization as the real service expects. Reviews and contact requests have no
-- uniqueness rule, so any number of creates is valid.
local function dir_auth(ctx)
  return { ["Authorization"] = ctx.directory.DIRECTORY_KEY, ["Content-Type"] = "application/json" }
end

local function dir_path(ctx, rest)
  return "/api/directory/private/v1alpha/directories/" .. ctx.directory.DIRECTORY_ID .. "/" .. rest
end

local function dir_entry(ctx)
  local ids = ctx.directory_entries
  return ids[math.random(#ids)]
end

-- One partner entry with its embedded sub-resources and tier: the heaviest read of the family.
function R.dir_get_entry(ctx)
  return wrk.format("GET", dir_path(ctx, "entries/partners/" .. dir_entry(ctx) .. "/"), dir_auth(ctx))
end

function R.dir_list_entries(ctx)
  return wrk.format("GET", dir_path(ctx, "entries/partners/?page_size=10&status=public"), dir_auth(ctx))
end

function R.dir_public_listing(ctx)
  return wrk.format("GET", "/api/directory/public/v1alpha/directories/" .. ctx.directory.DIRECTORY_SLUG .. "/entries/?page_size=20")
end

function R.dir_create_review(ctx)
  return wrk.format("POST", dir_path(ctx, "reviews/"), dir_auth(ctx), string.format(
    '{"entry":"%s","title":"Load test","summary":"Reliable partner, quick answers.","rating":%d,"firstName":"Wrk"}',
    dir_entry(ctx), math.random(5)))
end

function R.dir_create_contact_request(ctx)
  return wrk.format("POST", dir_path(ctx, "contact-requests/"), dir_auth(ctx), string.format(
    '{"entry":"%s","firstName":"Wrk","lastName":"Load","email":"load@example.com","message":"Please call me."}', dir_entry(ctx)))
end

return R
