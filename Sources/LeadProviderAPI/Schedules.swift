import APICore
import HTTP
import JSON
import Store

/// The real service's schedules and their milestones (`db/seeds/schedules_and_milestones.rb`,
/// `app/services/api_seed_data/schedules_and_milestones.rb`; rules from `app/models/schedule.rb`,
/// `app/models/milestone.rb`). A schedule says when each declaration of a participant on it may be
/// dated: from a milestone's `start_date` to its `milestone_date` (no `milestone_date`: no end).
enum ScheduleCatalog {
    /// The real `Schedule.identifiers`, in its order.
    static let identifiers = [
        "ecf-standard-january", "ecf-standard-april", "ecf-standard-september",
        "ecf-extended-january", "ecf-extended-april", "ecf-extended-september",
        "ecf-reduced-january", "ecf-reduced-april", "ecf-reduced-september",
        "ecf-replacement-january", "ecf-replacement-april", "ecf-replacement-september",
    ]

    /// The real `Milestone.declaration_types`, in declaration order.
    static let declarationTypes = [
        "started", "retained-1", "retained-2", "retained-3", "retained-4", "completed",
        "extended-1", "extended-2", "extended-3",
    ]

    /// Extended schedules have milestones up to `extended-3`; the others up to `completed`.
    static func declarationTypes(identifier: String) -> [String] {
        identifier.contains("-extended-") ? declarationTypes : Array(declarationTypes.prefix(6))
    }

    struct Milestone {
        var declarationType: String
        var startDate: String
        var milestoneDate: String?

        var json: JSON {
            [
                "declaration_type": .string(declarationType), "start_date": .string(startDate),
                "milestone_date": JSON(milestoneDate),
            ]
        }
    }

    /// The standard set of a cohort: every identifier with its milestones. 2021 to 2026 are the real
    /// seeds' data. Other years follow the pattern the seeds use for 2026 (and, but for the dates
    /// of the standard schedules, for every year): each milestone of a schedule starts when the
    /// schedule does, with no milestone date; September schedules start on 1 September of the
    /// cohort's year (the standard one on 1 June, as for 2025 and 2026), January and April ones on
    /// 1 January and 1 April of the next year.
    static func standardSet(year: Int) -> [(identifier: String, milestones: [Milestone])] {
        identifiers.map { identifier in
            if let dated = datedStandard[year]?[identifier] {
                return (
                    identifier,
                    zip(declarationTypes, dated).map {
                        Milestone(declarationType: $0, startDate: $1.0, milestoneDate: $1.1)
                    }
                )
            }
            let start = startDate(identifier: identifier, year: year)
            return (
                identifier,
                declarationTypes(identifier: identifier).map {
                    Milestone(declarationType: $0, startDate: start, milestoneDate: nil)
                }
            )
        }
    }

    /// When an undated schedule's milestones start (the seeds' `build`).
    static func startDate(identifier: String, year: Int) -> String {
        if identifier == "ecf-standard-september" { return "\(year)-06-01" }
        if identifier.hasSuffix("-september") { return "\(year)-09-01" }
        if identifier.hasSuffix("-january") { return "\(year + 1)-01-01" }
        return "\(year + 1)-04-01"
    }

    /// The standard schedules of 2021 to 2024, whose milestones the seeds date one by one:
    /// (start_date, milestone_date) for started, retained-1 to retained-4, completed.
    static let datedStandard: [Int: [String: [(String, String?)]]] = [
        2021: [
            "ecf-standard-september": [
                ("2021-09-01", "2021-11-30"), ("2021-09-01", "2022-01-31"), ("2022-02-01", "2022-04-30"),
                ("2022-05-01", "2022-09-30"), ("2022-10-01", "2023-01-31"), ("2023-02-01", "2023-04-30"),
            ],
            "ecf-standard-january": [
                ("2021-12-01", "2022-01-31"), ("2022-02-01", "2022-04-30"), ("2022-05-01", "2022-09-30"),
                ("2022-10-01", "2023-01-31"), ("2023-02-01", "2023-04-30"), ("2023-05-01", "2023-09-30"),
            ],
            "ecf-standard-april": [
                ("2022-02-01", "2022-05-31"), ("2022-05-01", "2022-09-30"), ("2022-10-01", "2023-01-31"),
                ("2023-02-01", "2023-04-30"), ("2023-05-01", "2023-09-30"), ("2023-10-01", "2024-01-31"),
            ],
        ],
        2022: [
            "ecf-standard-september": [
                ("2022-06-01", "2022-12-31"), ("2023-01-01", "2023-03-31"), ("2023-04-01", "2023-07-31"),
                ("2023-08-01", "2023-12-31"), ("2024-01-01", "2024-03-31"), ("2024-04-01", "2024-07-31"),
            ],
            "ecf-standard-january": [
                ("2023-01-01", "2023-03-31"), ("2023-04-01", "2023-07-31"), ("2023-08-01", "2023-12-31"),
                ("2024-01-01", "2024-03-31"), ("2024-04-01", "2024-07-31"), ("2024-08-01", "2024-12-31"),
            ],
            "ecf-standard-april": [
                ("2023-04-01", "2023-07-31"), ("2023-08-01", "2023-12-31"), ("2024-01-01", "2024-03-31"),
                ("2024-04-01", "2024-07-31"), ("2024-08-01", "2024-12-31"), ("2025-01-01", "2025-03-31"),
            ],
        ],
        2023: [
            "ecf-standard-september": [
                ("2023-06-01", "2023-12-31"), ("2024-01-01", "2024-03-31"), ("2024-04-01", "2024-07-31"),
                ("2024-08-01", "2024-12-31"), ("2025-01-01", "2025-03-31"), ("2025-04-01", "2025-07-31"),
            ],
            "ecf-standard-january": [
                ("2024-01-01", "2024-03-31"), ("2024-04-01", "2024-07-31"), ("2024-08-01", "2024-12-31"),
                ("2025-01-01", "2025-03-31"), ("2025-04-01", "2025-07-31"), ("2025-08-01", "2025-12-31"),
            ],
            "ecf-standard-april": [
                ("2024-04-01", "2024-07-31"), ("2024-08-01", "2024-12-31"), ("2025-01-01", "2025-03-31"),
                ("2025-04-01", "2025-07-31"), ("2025-08-01", "2025-12-31"), ("2026-01-01", "2026-03-31"),
            ],
        ],
        2024: [
            "ecf-standard-september": [
                ("2024-06-01", "2024-12-31"), ("2025-01-01", "2025-03-31"), ("2025-04-01", "2025-07-31"),
                ("2025-08-01", "2025-12-31"), ("2026-01-01", "2026-03-31"), ("2026-04-01", "2026-07-31"),
            ],
            "ecf-standard-january": [
                ("2025-01-01", "2025-03-31"), ("2025-04-01", "2025-07-31"), ("2025-08-01", "2025-12-31"),
                ("2026-01-01", "2026-03-31"), ("2026-04-01", "2026-07-31"), ("2026-08-01", "2026-12-31"),
            ],
            "ecf-standard-april": [
                ("2025-04-01", "2025-07-31"), ("2025-08-01", "2025-12-31"), ("2026-01-01", "2026-03-31"),
                ("2026-04-01", "2026-07-31"), ("2026-08-01", "2026-12-31"), ("2027-01-01", "2027-03-31"),
            ],
        ],
    ]

    /// The standard schedule a training starting on `date` (`YYYY-MM-DD`) is put on: the real
    /// `Schedules::Find#schedule_month` (June to October: September; November to February:
    /// January; March to May: April).
    static func standardIdentifier(startingOn date: String) -> String {
        let month = Int(date.dropFirst(5).prefix(2)) ?? 9
        switch month {
        case 6...10: return "ecf-standard-september"
        case 3...5: return "ecf-standard-april"
        default: return "ecf-standard-january"
        }
    }
}

/// Schedule records: the standard set written with each cohort, and staff replacing milestones.
enum ScheduleRecords {
    /// Writes the cohort's standard schedules that it does not have yet (a staff change stays).
    static func installStandard(_ tx: inout Transaction, cohort: String, now: String) {
        guard let year = Int(cohort) else { return }
        for (identifier, milestones) in ScheduleCatalog.standardSet(year: year) {
            let id = ScheduleLookup.id(cohort: cohort, identifier: identifier)
            guard tx.get(Collection.schedules, id) == nil else { continue }
            tx.put(
                Collection.schedules, id,
                [
                    "id": .string(id), "cohort": .string(cohort), "identifier": .string(identifier),
                    "milestones": .array(milestones.map(\.json)), "created_at": .string(now),
                    "updated_at": .string(now),
                ])
        }
    }

    /// The real `Milestone` validations beyond the field types: the milestone date after the start
    /// date, the start on or after 1 June of the cohort's year (its contract period), one milestone
    /// per declaration type. Titles name the milestone's place in the list.
    static func problems(_ milestones: [JSON], cohort: String) -> [APIError] {
        var errors: [APIError] = []
        var seen = Set<String>()
        let contractStart = "\(cohort)-06-01"
        for (index, milestone) in milestones.enumerated() {
            let place = "milestones[\(index)]"
            let type = milestone["declaration_type"]?.stringValue ?? ""
            let start = milestone["start_date"]?.stringValue ?? ""
            if let end = milestone["milestone_date"]?.stringValue, end <= start {
                errors.append(Failure.field("\(place).milestone_date", "Milestone date must be after the start date"))
            }
            if start < contractStart {
                errors.append(
                    Failure.field("\(place).start_date", "The start date must be on or after the 1 June \(cohort)"))
            }
            if !seen.insert(type).inserted {
                errors.append(Failure.field("\(place).declaration_type", "Can be used once per schedule"))
            }
        }
        return errors
    }
}

/// Staff operations on schedules; lead providers see a participant's schedule by its identifier.
enum ScheduleOperations {
    static let milestone = ResourceSchema(
        "Milestone",
        [
            Field("declaration_type", .enumeration(ScheduleCatalog.declarationTypes), required: true),
            Field("start_date", .date, required: true, "The first day a declaration of this type may be dated."),
            Field(
                "milestone_date", .date, nullable: true,
                "The last day a declaration of this type may be dated; null: no end."),
        ])

    static let schedule = ResourceSchema(
        "Schedule",
        [
            Field("cohort", .yearString, readOnly: true),
            Field("identifier", .enumeration(ScheduleCatalog.identifiers), readOnly: true),
            Field(
                "milestones", .array(.nested(milestone)), required: true,
                "One per declaration type at most, in declaration order."),
            Field("created_at", .dateTime, readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
        ])

    static let resources: [(component: String, type: String, attributes: ResourceSchema)] = [
        ("ScheduleResource", "schedule", schedule)
    ]
    static let inputs: [(component: String, schema: ResourceSchema)] = [("ScheduleInput", schedule)]

    static func register(admin: inout OperationGroup<LeadProviderPrincipal>) {
        let parameters = [
            OperationDoc.Parameter("cohort", in: .path, required: true, "Cohort year."),
            OperationDoc.Parameter(
                "identifier", in: .path, required: true,
                schema: ["type": "string", "enum": .array(ScheduleCatalog.identifiers.map(JSON.string))],
                "Schedule identifier."),
        ]
        admin.on(
            .get, "schedules/:cohort/:identifier",
            doc: OperationDoc(
                "Retrieve a schedule", tag: "Staff", parameters: parameters,
                responses: [.init(200, "The schedule", schema: LeadProviderDocs.one("ScheduleResource"))],
                errors: [404]),
            show)
        admin.on(
            .put, "schedules/:cohort/:identifier",
            doc: LeadProviderDocs.staff(
                "Replace a schedule's milestones",
                description:
                    "Creates the schedule if the cohort has none of this identifier. Each milestone date is after its start date, each start on or after 1 June of the cohort's year, one milestone per declaration type.",
                parameters: parameters, input: "ScheduleInput", status: 200, component: "ScheduleResource",
                errors: [400, 404, 422]),
            replace)
    }

    static func resource(_ record: JSON) -> JSON {
        LeadProviderAPI.resource(
            id: record["id"]?.stringValue ?? "", type: "schedule",
            attributes: schedule.serialize([
                "cohort": record["cohort"] ?? .null, "identifier": record["identifier"] ?? .null,
                "milestones": record["milestones"] ?? .array([]), "created_at": shown(record["created_at"]),
                "updated_at": shown(record["updated_at"]),
            ]))
    }

    static func show(_ context: Context) throws -> HTTPResponse {
        let cohort = context.request.pathParameter("cohort")
        let identifier = context.request.pathParameter("identifier")
        guard let record = ScheduleLookup.find(cohort: cohort, identifier: identifier, in: context.store) else {
            throw Failure.notFound
        }
        return document(resource(record))
    }

    static func replace(_ context: Context) throws -> HTTPResponse {
        let cohort = context.request.pathParameter("cohort")
        let identifier = context.request.pathParameter("identifier")
        let body = try AdminEndpoints.payload(context.request, schedule, partial: false)
        guard ScheduleCatalog.identifiers.contains(identifier) else {
            throw APIErrors([Failure.field("identifier", "Choose an identifier from the list")])
        }
        let milestones = body["milestones"]?.arrayValue ?? []
        let problems = ScheduleRecords.problems(milestones, cohort: cohort)
        let now = Timestamp.now().storageText
        let record = try context.store.write { tx -> JSON in
            guard tx.get(Collection.cohorts, cohort) != nil else { throw Failure.notFound }
            if !problems.isEmpty { throw APIErrors(problems) }
            let id = ScheduleLookup.id(cohort: cohort, identifier: identifier)
            let ordered = milestones.sorted {
                let order = ScheduleCatalog.declarationTypes
                return (order.firstIndex(of: $0["declaration_type"]?.stringValue ?? "") ?? 0)
                    < (order.firstIndex(of: $1["declaration_type"]?.stringValue ?? "") ?? 0)
            }
            let record: JSON = [
                "id": .string(id), "cohort": .string(cohort), "identifier": .string(identifier),
                "milestones": .array(
                    ordered.map {
                        [
                            "declaration_type": $0["declaration_type"] ?? .null,
                            "start_date": $0["start_date"] ?? .null,
                            "milestone_date": $0["milestone_date"] ?? .null,
                        ]
                    }),
                "created_at": tx.get(Collection.schedules, id)?["created_at"] ?? .string(now),
                "updated_at": .string(now),
            ]
            tx.put(Collection.schedules, id, record)
            return record
        }
        return document(resource(record))
    }
}
