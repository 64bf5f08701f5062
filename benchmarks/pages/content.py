"""The main texts of the benchmark pages: what a reader of each page came to read.

Each body is a list of blocks ``(kind, text)``: ``h`` (a heading), ``p`` (a
paragraph), ``ul`` (list items, one string each, joined with ``|``), ``pre``
(code) and ``q`` (a quotation). ``build.py`` wraps them in site templates with
boilerplate around them and writes the gold text (the blocks, in order) beside
each page. Threads (forums, Q&A) are lists of posts instead.
"""

from __future__ import annotations

Block = tuple[str, str]

NEWS: dict[str, tuple[str, list[Block]]] = {
    "harbour": (
        "City council approves harbour flood barrier after decade of delays",
        [
            (
                "p",
                "The city council voted on Tuesday night to fund a movable flood barrier across the mouth of the old harbour, ending more than ten years of studies, objections and revised cost estimates.",
            ),
            (
                "p",
                "The barrier, two steel gates that will swing shut when forecasters expect a surge above 1.8 metres, is projected to cost 412 million euros and should be working by the winter of 2031. Councillors approved it by 31 votes to 14.",
            ),
            (
                "p",
                '"We have been lucky three times in the past six years," said deputy mayor Ines Halvorsen, who has led the project since 2019. "The water stopped forty centimetres below the quay walls in 2023. Nobody on this council wants to explain to residents why we waited for the fourth time."',
            ),
            ("h", "Fishermen and shipping firms"),
            (
                "p",
                "Opposition came mainly from the fishing cooperative, whose boats use the harbour mouth at night, and from two ferry operators worried about closures during storms. The final design keeps a 40-metre channel open except when the gates are closed, which engineers expect to happen four to six times a year.",
            ),
            (
                "p",
                "Marten Olsby, who chairs the cooperative, said members were still unhappy about the construction period, when the channel will be narrowed for about eighteen months. The council has promised compensation for lost fishing days, but the amount has not been set.",
            ),
            ("h", "Where the money comes from"),
            (
                "p",
                "Roughly half of the cost will be covered by the national climate adaptation fund. The rest will come from a surcharge on property tax in the low-lying districts, averaging 62 euros a year per household, and from a loan that the city expects to repay over thirty years.",
            ),
            (
                "ul",
                "Construction tender: spring 2027|First gate installed: 2029|Full operation: winter 2031",
            ),
            (
                "p",
                "Environmental groups broadly welcomed the decision but asked the council to monitor how the gates affect the salt marsh north of the harbour, an important resting place for migrating birds.",
            ),
        ],
    ),
    "battery": (
        "Researchers report sodium battery that survives 10,000 charging cycles",
        [
            (
                "p",
                "A team at the Technical University of Lindholm says it has built a sodium-ion battery cell that kept more than 90 percent of its capacity after 10,000 full charging cycles, roughly three times what commercial sodium cells manage today.",
            ),
            (
                "p",
                "The result, published on Wednesday in the journal Energy Materials Letters, relies on a layered cathode in which a small amount of magnesium holds the crystal structure together as sodium ions move in and out. Without it, the layers slowly crack and the cell loses capacity.",
            ),
            (
                "p",
                '"Cracking is the main reason these cells age," said Dr. Amara Okafor, the study\'s lead author. "We did not make the material stronger. We made it change shape less."',
            ),
            (
                "p",
                "Sodium is far more abundant and cheaper than lithium, and sodium cells do not need cobalt or nickel. Their drawback has been lower energy density: they store less energy for their weight, which makes them more attractive for grid storage than for cars.",
            ),
            ("h", "Still a laboratory cell"),
            (
                "p",
                'Outside experts were cautious. The cells tested were small coin cells, charged at room temperature, and large cells often behave differently. "Ten thousand cycles in a coin cell is a good start, not a product," said Henrik Lund, a battery engineer who was not involved in the work.',
            ),
            (
                "p",
                "The team says it is working with a manufacturer to build pouch cells the size of a paperback book and expects first results next year. The magnesium-doped cathode can be made with existing equipment, Okafor said, which could shorten the path to the factory.",
            ),
        ],
    ),
    "transit": (
        "Night buses return to eight routes as ridership recovers",
        [
            (
                "p",
                "The regional transit authority will restore night bus service on eight routes from the first of March, three years after cutting most overnight lines when ridership collapsed.",
            ),
            (
                "p",
                "Buses will run every 30 minutes between midnight and 5 a.m. on the restored routes, which connect the central station with the hospital district, the university campus, the airport and five suburbs. Friday and Saturday nights will see service every 15 minutes on the two busiest lines.",
            ),
            (
                "p",
                "Ridership on the remaining night routes has grown by 38 percent over the past year, according to figures released by the authority, and surveys showed that shift workers in hospitals, logistics and hospitality were the largest group of passengers.",
            ),
            (
                "q",
                "People who clean our offices and care for our patients at three in the morning should not have to pay for a taxi to get home.",
            ),
            (
                "p",
                "The quote came from transport commissioner Dana Wirth, who announced the plan at a press conference on Monday. The restored service will cost about 6.5 million a year, paid for from the authority's operating budget and a contribution from the two largest hospitals.",
            ),
            ("h", "Drivers needed"),
            (
                "p",
                "The authority still needs to hire about 60 drivers before March. It is offering a night shift bonus and has shortened its training course from twelve to nine weeks, though union representatives warned that shorter training must not come at the expense of safety.",
            ),
        ],
    ),
    "library": (
        "Century-old library reopens with its reading room restored",
        [
            (
                "p",
                "After four years behind scaffolding, the Carnegie library on Elm Street reopened to the public on Saturday, its domed reading room restored to the colours it had when the building opened in 1911.",
            ),
            (
                "p",
                "Conservators removed seven layers of paint from the dome and found the original design underneath: a pale blue sky with gold stars arranged in the constellations visible over the city on the night of the opening. The pattern had been painted over in the 1950s.",
            ),
            (
                "p",
                "The renovation, which cost 18 million, also added a lift, new heating and cooling, and a children's wing in the former coal cellar. Shelving in the main hall was rebuilt to the original drawings, but every third bay now holds computers and power outlets rather than books.",
            ),
            (
                "p",
                'Head librarian Tomas Reyes said visitors had been queuing since eight in the morning. "A woman told me she had done her homework under that dome in 1962 and wanted to see whether the stars were real. They were always there. We just could not see them."',
            ),
            (
                "p",
                "The library is open every day except Monday, from 9 a.m. to 8 p.m., and free guided tours of the dome will run on Sunday afternoons until the end of the year.",
            ),
        ],
    ),
}

BLOGS: dict[str, tuple[str, list[Block]]] = {
    "sourdough": (
        "What I learned from a year of baking sourdough every weekend",
        [
            (
                "p",
                "A year ago I killed my third sourdough starter and promised myself I would bake every single weekend until I understood what was going on. Fifty-two loaves later, here is what actually made a difference, and what turned out not to matter at all.",
            ),
            ("h", "Temperature matters more than anything"),
            (
                "p",
                "Every recipe gives times: four hours of bulk fermentation, an overnight proof. Those times assume a kitchen at about 24 degrees. Mine sits at 19 in winter, and my dough was simply not ready when the recipe said it would be. Once I started watching the dough instead of the clock, looking for a 50 percent rise and a domed, bubbly surface, my loaves stopped being dense.",
            ),
            ("h", "Flour brands are not interchangeable"),
            (
                "p",
                "Switching from a supermarket bread flour to a local stone-ground one changed how much water the dough could take by almost ten percent. I now keep notes for each bag: hydration, how sticky the dough felt, and how the crumb looked.",
            ),
            (
                "ul",
                "Keep the starter in a glass jar so you can see the rise|Feed it at the same time every day|Use a kitchen scale, never cups",
            ),
            ("h", "What did not matter"),
            (
                "p",
                "Expensive bannetons, fancy lames and special salt made no visible difference. A mixing bowl lined with a floured tea towel works just as well as a cane basket, and a razor blade scores as well as anything.",
            ),
            (
                "p",
                "If you are starting out, bake the same recipe for a month before changing anything. You will learn more from four versions of one loaf than from four different recipes.",
            ),
        ],
    ),
    "rustport": (
        "Porting a small CLI from Python to Rust: was it worth it?",
        [
            (
                "p",
                "I maintain a tiny command-line tool that renames photos by the date stored in their metadata. It started as a 300-line Python script and over the years grew to about 1,200 lines. Last month I rewrote it in Rust, mostly out of curiosity. This post is an honest account of how that went.",
            ),
            ("h", "Start-up time"),
            (
                "p",
                "The Python version took about 180 milliseconds to start because it imported a metadata library and its dependencies. The Rust binary starts in 3 milliseconds. For a tool I run on single files from a file manager, that difference is actually noticeable.",
            ),
            ("h", "Where the time went"),
            (
                "p",
                "The rewrite took about three evenings. Most of that time was spent fighting with error handling: in Python I had been catching broad exceptions and printing them, and Rust made me decide, for every failure, whether it should stop the program or skip the file.",
            ),
            (
                "pre",
                'fn rename(path: &Path) -> Result<PathBuf, RenameError> {\n    let taken = read_date(path)?;\n    Ok(path.with_file_name(taken.format("%Y-%m-%d_%H%M%S").to_string()))\n}',
            ),
            (
                "p",
                "That forced decision found two real bugs. Files without a date were silently renamed to a default timestamp in the Python version, and photos from one camera had their time zone applied twice.",
            ),
            ("h", "Would I do it again?"),
            (
                "p",
                "For this tool, yes: it is small, its behaviour is well understood, and a single static binary is easier to share with friends than a Python environment. For anything still changing every week, I would stay with Python.",
            ),
        ],
    ),
    "balcony": (
        "Growing tomatoes on a north-facing balcony",
        [
            (
                "p",
                "Everyone told me it could not be done. My balcony faces north, gets about three hours of direct sun in midsummer and none at all from October to March. This year I harvested a little over six kilos of tomatoes from four plants, and I want to share the setup.",
            ),
            (
                "p",
                "The most important choice was the variety. Large beefsteak tomatoes need long hours of sun to ripen, so I grew cherry and small plum varieties that ripen quickly and tolerate shade. The best performer by far was a yellow cherry variety that kept producing into October.",
            ),
            (
                "p",
                "I used 30-litre fabric pots, which drain well and keep the roots from overheating, and fed the plants every week with a liquid tomato fertiliser once the first flowers appeared. A sheet of white foam board on the wall behind the pots reflected a surprising amount of light back onto the leaves.",
            ),
            ("h", "Mistakes"),
            (
                "p",
                "I planted out too early, in late April, and a cold week set the plants back by almost a month. Next year I will wait until the night temperature stays above ten degrees. I also let the plants grow too many side shoots, which gave me a jungle of leaves and fewer fruits.",
            ),
            (
                "p",
                "If you have a shady balcony, try it anyway. Pick small-fruited varieties, give them the biggest pots you can carry, and be patient.",
            ),
        ],
    ),
}

DOCS: dict[str, tuple[str, list[Block]]] = {
    "config": (
        "Configuration file",
        [
            (
                "p",
                "The server reads its settings from a TOML file. By default it looks for config.toml in the current directory; pass --config PATH to use another file. Every setting has a default, so an empty file is valid.",
            ),
            ("h", "Listening address"),
            (
                "p",
                "The listen key sets the address and port the server binds to. Use 0.0.0.0 to accept connections on every interface, or a specific address to restrict it.",
            ),
            ("pre", '[server]\nlisten = "127.0.0.1:8080"\nworkers = 4'),
            (
                "p",
                "When workers is not set, the server starts one worker per CPU core. Each worker handles requests independently, so a slow request only blocks its own worker.",
            ),
            ("h", "Logging"),
            (
                "p",
                "Log lines go to standard error in a plain text format. Set format to json to get one JSON object per line, which most log collectors can parse without extra configuration.",
            ),
            (
                "ul",
                "level: one of debug, info, warning, error (default info)|format: text or json (default text)|file: write to this file instead of standard error",
            ),
            ("h", "Reloading"),
            (
                "p",
                "Sending SIGHUP to the main process reloads the configuration file. Settings that cannot change while running, such as the listening address, are reported in the log and take effect only after a restart.",
            ),
        ],
    ),
    "quickstart": (
        "Quickstart",
        [
            (
                "p",
                "This guide walks you through installing the client library, authenticating, and making your first request. It takes about five minutes.",
            ),
            ("h", "Install the library"),
            (
                "p",
                "The library supports Python 3.9 and later. Install it from the package index into a virtual environment:",
            ),
            ("pre", "python -m venv .venv\nsource .venv/bin/activate\npip install example-client"),
            ("h", "Authenticate"),
            (
                "p",
                "Create an API key on your account page and store it in the EXAMPLE_API_KEY environment variable. The client reads the variable automatically; you can also pass the key to the constructor, but avoid writing keys in source files.",
            ),
            (
                "pre",
                "from example_client import Client\n\nclient = Client()\nprint(client.projects.list())",
            ),
            ("h", "Next steps"),
            (
                "p",
                "Requests that fail raise an ApiError with the status code and the message returned by the service. Most methods accept a timeout argument in seconds; the default is 30. Read the pagination guide before listing large collections, since list methods return at most 100 items per page.",
            ),
        ],
    ),
    "retry": (
        "Retrying failed requests",
        [
            (
                "p",
                "Network requests fail for reasons outside your control: a dropped connection, a server restarting, a rate limit. The retry policy decides which failures are retried, how many times, and how long to wait between attempts.",
            ),
            ("h", "Default policy"),
            (
                "p",
                "By default, requests are retried up to three times on connection errors and on the status codes 429, 502, 503 and 504. The wait between attempts doubles each time, starting at half a second, with random jitter of up to 25 percent so that many clients do not retry in lockstep.",
            ),
            ("h", "Retry-After"),
            (
                "p",
                "When a response carries a Retry-After header, the client waits for the time it gives instead of its own backoff, as long as that time is below max_wait. A longer wait is treated as a failure, because blocking for minutes is rarely what a caller wants.",
            ),
            (
                "pre",
                "policy = RetryPolicy(attempts=5, backoff=0.5, max_wait=30)\nclient = Client(retry=policy)",
            ),
            ("h", "Requests that are not safe to repeat"),
            (
                "p",
                "POST requests are not retried after the request body has been sent, since the server may already have acted on them. Pass an idempotency key to make a POST safe to retry: the server then recognises the repeated request and returns the first result.",
            ),
        ],
    ),
}

# Forum threads: a title and the posts (author, text) that make the thread.
THREADS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "boiler": (
        "Boiler pressure keeps dropping overnight",
        [
            (
                "mike_r",
                "My combi boiler loses about half a bar of pressure every night. I top it up to 1.5 in the evening and by morning it is at 1.0 or lower. There are no visible leaks on the radiators or under the boiler. The house is about 20 years old. Any ideas where to look before I call someone out?",
            ),
            (
                "heatingpro",
                "The usual suspects are the pressure relief valve and the expansion vessel. Check whether the copper pipe that goes outside from the relief valve is dripping or has a wet patch under it. If it is, the valve is passing, often because the expansion vessel has lost its air charge and the pressure spikes when the system heats up.",
            ),
            (
                "mike_r",
                "Good call. There is a small pipe sticking out of the wall near the back door and the paving under it is damp every morning. So it is the valve?",
            ),
            (
                "heatingpro",
                "Probably the vessel first. When the vessel is flat, pressure rises above 3 bar when the water heats up and the relief valve opens. Recharging the vessel with a bicycle pump to about 1 bar, with the system drained down, often fixes it. If the valve keeps dripping after that, replace it, because they rarely seal properly again once they have opened a few times.",
            ),
            (
                "annie_b",
                "Had exactly the same problem last winter. Recharging the vessel fixed it for about a month, then it went flat again, which meant the diaphragm inside was split. The engineer replaced the whole vessel and it has been fine since.",
            ),
            (
                "mike_r",
                "Update for anyone who finds this thread later: drained the system, the vessel read zero on a tyre gauge. Pumped it up to 1 bar and the pressure has held at 1.4 for three nights now. Thanks everyone.",
            ),
        ],
    ),
    "gpsdrift": (
        "GPS track drifts badly under tree cover - settings or hardware?",
        [
            (
                "trailrunner84",
                "My watch records tracks that wander up to 50 metres off the trail whenever I run in the forest. In open areas it is spot on. I am using the default GPS-only mode. Is this just what to expect under trees, or is something wrong with my unit?",
            ),
            (
                "geo_nerd",
                "Some drift under dense canopy is normal, because the signal is attenuated and reflected by wet leaves. Fifty metres is on the bad side though. Try switching to the multi-band or all-systems mode if your watch has it. Using Galileo and GLONASS as well as GPS gives the receiver many more satellites to choose from.",
            ),
            (
                "trailrunner84",
                "Switched to all systems plus multi-band and did the same loop twice. The worst deviation is now around 10 metres. Battery drain is noticeably higher though, about 30 percent more per hour.",
            ),
            (
                "ultra_sara",
                "That is the trade-off. For long races I use all-systems without multi-band, which gets most of the accuracy and costs far less battery. Also make sure you wait for a proper fix before starting, the first kilometre is always the worst if you start too early.",
            ),
            (
                "geo_nerd",
                "One more thing: update the satellite almanac by syncing with your phone before the run. An old almanac makes the watch search longer and it may settle on a poor fix in the first minutes.",
            ),
        ],
    ),
}

# Q&A threads: the question, then the answers (the comments under them are chrome).
QANDA: dict[str, tuple[str, str, list[str]]] = {
    "dictmerge": (
        "How do I merge two dictionaries, keeping the values of the second?",
        "I have two dictionaries, defaults and overrides. I want a new dictionary with every key from both, where the value from overrides wins when a key is in both. The originals must not change. What is the idiomatic way to do this in modern Python?",
        [
            "Since Python 3.9 you can use the union operator: merged = defaults | overrides. It returns a new dictionary and leaves both operands unchanged. When a key appears in both, the value from the right-hand operand is kept, which is exactly what you want here.",
            "On older versions, unpacking both into a dictionary literal does the same: merged = {**defaults, **overrides}. Later keys overwrite earlier ones. Note that both approaches make a shallow copy, so nested dictionaries are shared between the result and the originals; use copy.deepcopy if you plan to modify nested values.",
        ],
    ),
    "gitundo": (
        "Undo the last commit but keep the changes in my working tree",
        "I committed too early and want to take the last commit back, keeping all of its changes as uncommitted edits so I can split them into smaller commits. I have not pushed anything yet. Which command does this without losing work?",
        [
            "Use git reset --soft HEAD~1 if you want the changes to stay staged, or git reset HEAD~1 (the default mixed mode) to keep them as unstaged edits in your working tree. Either way nothing in your files is lost; only the commit itself is removed from the branch.",
            "If you have already pushed the commit, prefer git revert, which adds a new commit undoing the changes instead of rewriting history that others may have pulled. Since you have not pushed yet, reset is fine. The old commit also stays reachable through git reflog for a while, in case you change your mind.",
        ],
    ),
}

# Pages whose content sits in plain <div>s: a company announcement and a museum page.
DIVSOUP: dict[str, tuple[str, list[Block]]] = {
    "announce": (
        "Our new distribution centre opens in Rivertown",
        [
            (
                "p",
                "We are proud to announce that our new distribution centre in Rivertown opened its doors this month. The 24,000 square metre building replaces our two older warehouses and will let us ship most orders on the day they are placed.",
            ),
            (
                "p",
                "The centre was designed to use as little energy as possible. Its roof carries 6,000 solar panels, which produce more electricity over a year than the building uses, and rainwater collected from the roof supplies the washrooms and the truck wash.",
            ),
            (
                "p",
                "About 180 people work at the new site, including 70 new hires from Rivertown and the surrounding villages. Everyone who worked at the old warehouses was offered a job at the new centre, and the company runs a free shuttle bus from the old sites for the first year.",
            ),
            (
                "p",
                "Customers do not need to do anything. Orders are routed to the new centre automatically, and delivery times in the northern region should improve by about a day.",
            ),
        ],
    ),
    "museum": (
        "The clockmaker's workshop",
        [
            (
                "p",
                "On the second floor of the museum you can step into the workshop of Elias Brenner, who made clocks in this building from 1887 until his death in 1931. His family left the room untouched, and when the museum took over the house in 1978, the tools were still on the bench where he had put them down.",
            ),
            (
                "p",
                "The workshop holds more than 400 tools, many of which Brenner made himself, including a wheel-cutting engine that he built from the parts of a sewing machine. A glass case beside the window shows unfinished movements, some with his pencil notes still on the brass.",
            ),
            (
                "p",
                "Guided visits of the workshop take place every Saturday at 11 and 15 o'clock. Groups are limited to twelve people because the room is small; booking at the ticket desk is recommended. Children under ten must be accompanied by an adult.",
            ),
            (
                "p",
                "Once a month a volunteer clockmaker demonstrates how the wheel-cutting engine works. The dates are listed in the events calendar.",
            ),
        ],
    ),
}
