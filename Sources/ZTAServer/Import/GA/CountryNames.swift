import Foundation

/// English country names → ISO 3166-1 alpha-2 codes, for Google Analytics imports (api.md §8:
/// `country` = the ISO code of the English name, else empty). Holds the ISO 3166-1 short names
/// and the names Google Analytics reports where they differ (CLDR spellings such as
/// `Myanmar (Burma)`, `Congo - Kinshasa`, `Bosnia & Herzegovina`, `St. Lucia`).
enum CountryNames {
    /// The code for a country name (case and surrounding spaces ignored), else nil.
    static func code(_ name: String) -> String? {
        table[name.trimmingCharacters(in: .whitespaces).lowercased()]
    }

    static let table: [String: String] = {
        var m: [String: String] = [:]
        for (code, names) in entries { for n in names { m[n.lowercased()] = code } }
        return m
    }()

    static let entries: [(String, [String])] = [
        ("AD", ["Andorra"]), ("AE", ["United Arab Emirates"]), ("AF", ["Afghanistan"]),
        ("AG", ["Antigua and Barbuda", "Antigua & Barbuda"]), ("AI", ["Anguilla"]), ("AL", ["Albania"]),
        ("AM", ["Armenia"]), ("AO", ["Angola"]), ("AQ", ["Antarctica"]), ("AR", ["Argentina"]),
        ("AS", ["American Samoa"]), ("AT", ["Austria"]), ("AU", ["Australia"]), ("AW", ["Aruba"]),
        ("AX", ["Åland Islands", "Aland Islands"]), ("AZ", ["Azerbaijan"]),
        ("BA", ["Bosnia and Herzegovina", "Bosnia & Herzegovina"]), ("BB", ["Barbados"]), ("BD", ["Bangladesh"]),
        ("BE", ["Belgium"]), ("BF", ["Burkina Faso"]), ("BG", ["Bulgaria"]), ("BH", ["Bahrain"]), ("BI", ["Burundi"]),
        ("BJ", ["Benin"]), ("BL", ["Saint Barthélemy", "St. Barthélemy", "Saint Barthelemy"]), ("BM", ["Bermuda"]),
        ("BN", ["Brunei Darussalam", "Brunei"]), ("BO", ["Bolivia", "Bolivia (Plurinational State of)"]),
        ("BQ", ["Bonaire, Sint Eustatius and Saba", "Caribbean Netherlands"]), ("BR", ["Brazil"]),
        ("BS", ["Bahamas", "The Bahamas"]), ("BT", ["Bhutan"]), ("BV", ["Bouvet Island"]), ("BW", ["Botswana"]),
        ("BY", ["Belarus"]), ("BZ", ["Belize"]), ("CA", ["Canada"]),
        ("CC", ["Cocos (Keeling) Islands", "Cocos Islands"]),
        ("CD", ["Congo, Democratic Republic of the", "Democratic Republic of the Congo", "Congo - Kinshasa", "DR Congo"]),
        ("CF", ["Central African Republic"]), ("CG", ["Congo", "Republic of the Congo", "Congo - Brazzaville"]),
        ("CH", ["Switzerland"]), ("CI", ["Côte d'Ivoire", "Côte d’Ivoire", "Cote d'Ivoire", "Ivory Coast"]),
        ("CK", ["Cook Islands"]), ("CL", ["Chile"]), ("CM", ["Cameroon"]), ("CN", ["China"]), ("CO", ["Colombia"]),
        ("CR", ["Costa Rica"]), ("CU", ["Cuba"]), ("CV", ["Cabo Verde", "Cape Verde"]), ("CW", ["Curaçao", "Curacao"]),
        ("CX", ["Christmas Island"]), ("CY", ["Cyprus"]), ("CZ", ["Czechia", "Czech Republic"]), ("DE", ["Germany"]),
        ("DJ", ["Djibouti"]), ("DK", ["Denmark"]), ("DM", ["Dominica"]), ("DO", ["Dominican Republic"]),
        ("DZ", ["Algeria"]), ("EC", ["Ecuador"]), ("EE", ["Estonia"]), ("EG", ["Egypt"]), ("EH", ["Western Sahara"]),
        ("ER", ["Eritrea"]), ("ES", ["Spain"]), ("ET", ["Ethiopia"]), ("FI", ["Finland"]), ("FJ", ["Fiji"]),
        ("FK", ["Falkland Islands (Malvinas)", "Falkland Islands", "Falkland Islands (Islas Malvinas)"]),
        ("FM", ["Micronesia", "Micronesia (Federated States of)"]), ("FO", ["Faroe Islands"]), ("FR", ["France"]),
        ("GA", ["Gabon"]), ("GB", ["United Kingdom", "United Kingdom of Great Britain and Northern Ireland", "UK", "Great Britain"]),
        ("GD", ["Grenada"]), ("GE", ["Georgia"]), ("GF", ["French Guiana"]), ("GG", ["Guernsey"]), ("GH", ["Ghana"]),
        ("GI", ["Gibraltar"]), ("GL", ["Greenland"]), ("GM", ["Gambia", "The Gambia"]), ("GN", ["Guinea"]),
        ("GP", ["Guadeloupe"]), ("GQ", ["Equatorial Guinea"]), ("GR", ["Greece"]),
        ("GS", ["South Georgia and the South Sandwich Islands", "South Georgia & South Sandwich Islands"]),
        ("GT", ["Guatemala"]), ("GU", ["Guam"]), ("GW", ["Guinea-Bissau"]), ("GY", ["Guyana"]),
        ("HK", ["Hong Kong", "Hong Kong SAR China"]), ("HM", ["Heard Island and McDonald Islands", "Heard & McDonald Islands"]),
        ("HN", ["Honduras"]), ("HR", ["Croatia"]), ("HT", ["Haiti"]), ("HU", ["Hungary"]), ("ID", ["Indonesia"]),
        ("IE", ["Ireland"]), ("IL", ["Israel"]), ("IM", ["Isle of Man"]), ("IN", ["India"]),
        ("IO", ["British Indian Ocean Territory"]), ("IQ", ["Iraq"]), ("IR", ["Iran", "Iran (Islamic Republic of)"]),
        ("IS", ["Iceland"]), ("IT", ["Italy"]), ("JE", ["Jersey"]), ("JM", ["Jamaica"]), ("JO", ["Jordan"]),
        ("JP", ["Japan"]), ("KE", ["Kenya"]), ("KG", ["Kyrgyzstan"]), ("KH", ["Cambodia"]), ("KI", ["Kiribati"]),
        ("KM", ["Comoros"]), ("KN", ["Saint Kitts and Nevis", "St. Kitts & Nevis"]),
        ("KP", ["North Korea", "Korea (Democratic People's Republic of)"]),
        ("KR", ["South Korea", "Korea, Republic of", "Korea (Republic of)", "Republic of Korea"]),
        ("KW", ["Kuwait"]), ("KY", ["Cayman Islands"]), ("KZ", ["Kazakhstan"]),
        ("LA", ["Laos", "Lao People's Democratic Republic"]), ("LB", ["Lebanon"]),
        ("LC", ["Saint Lucia", "St. Lucia"]), ("LI", ["Liechtenstein"]), ("LK", ["Sri Lanka"]), ("LR", ["Liberia"]),
        ("LS", ["Lesotho"]), ("LT", ["Lithuania"]), ("LU", ["Luxembourg"]), ("LV", ["Latvia"]), ("LY", ["Libya"]),
        ("MA", ["Morocco"]), ("MC", ["Monaco"]), ("MD", ["Moldova", "Moldova, Republic of"]), ("ME", ["Montenegro"]),
        ("MF", ["Saint Martin (French part)", "St. Martin", "Saint Martin"]), ("MG", ["Madagascar"]),
        ("MH", ["Marshall Islands"]), ("MK", ["North Macedonia", "Macedonia", "Macedonia (FYROM)"]), ("ML", ["Mali"]),
        ("MM", ["Myanmar", "Myanmar (Burma)", "Burma"]), ("MN", ["Mongolia"]), ("MO", ["Macao", "Macau", "Macao SAR China"]),
        ("MP", ["Northern Mariana Islands"]), ("MQ", ["Martinique"]), ("MR", ["Mauritania"]), ("MS", ["Montserrat"]),
        ("MT", ["Malta"]), ("MU", ["Mauritius"]), ("MV", ["Maldives"]), ("MW", ["Malawi"]), ("MX", ["Mexico"]),
        ("MY", ["Malaysia"]), ("MZ", ["Mozambique"]), ("NA", ["Namibia"]), ("NC", ["New Caledonia"]), ("NE", ["Niger"]),
        ("NF", ["Norfolk Island"]), ("NG", ["Nigeria"]), ("NI", ["Nicaragua"]), ("NL", ["Netherlands", "The Netherlands"]),
        ("NO", ["Norway"]), ("NP", ["Nepal"]), ("NR", ["Nauru"]), ("NU", ["Niue"]), ("NZ", ["New Zealand"]),
        ("OM", ["Oman"]), ("PA", ["Panama"]), ("PE", ["Peru"]), ("PF", ["French Polynesia"]), ("PG", ["Papua New Guinea"]),
        ("PH", ["Philippines"]), ("PK", ["Pakistan"]), ("PL", ["Poland"]),
        ("PM", ["Saint Pierre and Miquelon", "St. Pierre & Miquelon"]), ("PN", ["Pitcairn", "Pitcairn Islands"]),
        ("PR", ["Puerto Rico"]), ("PS", ["Palestine", "Palestine, State of", "Palestinian Territories"]),
        ("PT", ["Portugal"]), ("PW", ["Palau"]), ("PY", ["Paraguay"]), ("QA", ["Qatar"]),
        ("RE", ["Réunion", "Reunion"]), ("RO", ["Romania"]), ("RS", ["Serbia"]), ("RU", ["Russia", "Russian Federation"]),
        ("RW", ["Rwanda"]), ("SA", ["Saudi Arabia"]), ("SB", ["Solomon Islands"]), ("SC", ["Seychelles"]),
        ("SD", ["Sudan"]), ("SE", ["Sweden"]), ("SG", ["Singapore"]),
        ("SH", ["Saint Helena, Ascension and Tristan da Cunha", "St. Helena", "Saint Helena"]),
        ("SI", ["Slovenia"]), ("SJ", ["Svalbard and Jan Mayen", "Svalbard & Jan Mayen"]), ("SK", ["Slovakia"]),
        ("SL", ["Sierra Leone"]), ("SM", ["San Marino"]), ("SN", ["Senegal"]), ("SO", ["Somalia"]), ("SR", ["Suriname"]),
        ("SS", ["South Sudan"]), ("ST", ["Sao Tome and Principe", "São Tomé and Príncipe", "São Tomé & Príncipe"]),
        ("SV", ["El Salvador"]), ("SX", ["Sint Maarten (Dutch part)", "Sint Maarten"]),
        ("SY", ["Syria", "Syrian Arab Republic"]), ("SZ", ["Eswatini", "Swaziland"]),
        ("TC", ["Turks and Caicos Islands", "Turks & Caicos Islands"]), ("TD", ["Chad"]),
        ("TF", ["French Southern Territories"]), ("TG", ["Togo"]), ("TH", ["Thailand"]), ("TJ", ["Tajikistan"]),
        ("TK", ["Tokelau"]), ("TL", ["Timor-Leste", "East Timor"]), ("TM", ["Turkmenistan"]), ("TN", ["Tunisia"]),
        ("TO", ["Tonga"]), ("TR", ["Türkiye", "Turkey", "Turkiye"]), ("TT", ["Trinidad and Tobago", "Trinidad & Tobago"]),
        ("TV", ["Tuvalu"]), ("TW", ["Taiwan", "Taiwan, Province of China"]),
        ("TZ", ["Tanzania", "Tanzania, United Republic of"]), ("UA", ["Ukraine"]), ("UG", ["Uganda"]),
        ("UM", ["United States Minor Outlying Islands", "U.S. Outlying Islands"]),
        ("US", ["United States", "United States of America", "USA"]), ("UY", ["Uruguay"]), ("UZ", ["Uzbekistan"]),
        ("VA", ["Holy See", "Vatican City"]), ("VC", ["Saint Vincent and the Grenadines", "St. Vincent & Grenadines"]),
        ("VE", ["Venezuela", "Venezuela (Bolivarian Republic of)"]),
        ("VG", ["Virgin Islands (British)", "British Virgin Islands"]),
        ("VI", ["Virgin Islands (U.S.)", "U.S. Virgin Islands"]), ("VN", ["Viet Nam", "Vietnam"]), ("VU", ["Vanuatu"]),
        ("WF", ["Wallis and Futuna", "Wallis & Futuna"]), ("WS", ["Samoa"]), ("XK", ["Kosovo"]), ("YE", ["Yemen"]),
        ("YT", ["Mayotte"]), ("ZA", ["South Africa"]), ("ZM", ["Zambia"]), ("ZW", ["Zimbabwe"]),
    ]
}
