-- Built-in knowledge-mobilisation techniques (issue 9).
-- Identical text in the SQLite and PostgreSQL migrations.

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'self-assessment-tool',
'Self-assessment tool',
'before',
1,
'Gives leaders a structured way to check how well their team or organisation draws on evidence and its own know-how, and to agree a plan for improving it with the library and knowledge service.',
60,
90,
2,
8,
'## What it is for

Known informally as the board tool, it gives a library and knowledge specialist and the leaders of a team, a division or a whole organisation a shared framework to talk through. Together they rate how well decisions currently draw on published research and on what the organisation itself has learned, and spot the weak points.

The outcome is a short action plan with targeted help from the library team. Just as valuable is the relationship it starts: leaders often discover services they did not know were on offer.

## How to run it

1. Book about an hour with one or more senior leaders and send them the framework beforehand so they can think about it.
2. Go through each area of the framework together and agree where the team or organisation stands now.
3. For each area, talk about what good practice would look like and what currently gets in the way.
4. Choose two or three priorities; resist the urge to tackle everything at once.
5. Turn the priorities into actions with an owner and a date, including the support the library team will give.
6. Fix a date to meet again and review progress.

## When to use it

- A senior leader has just been appointed and you want to start working with them early.
- A division or organisation is about to set its annual plan or strategy.
- You suspect important decisions are being taken without the evidence that already exists.

## Example

A newly appointed medical director at a district general hospital accepts an offer of an hour with the self-assessment tool. The discussion reveals that the executive team rarely sees summaries of evidence before it approves new services. The plan they agree has the library send a one-page evidence briefing ahead of each business case that goes to the executive meeting, plus a short searching workshop for the governance team. Six months later the two sides meet again to see what has changed.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'peer-assist',
'Peer assist',
'before',
2,
'Invites people who have already tackled something similar to share their experience with a team that is about to start, so the team can improve its plan before committing to it.',
180,
240,
5,
20,
'## What it is for

A team that is planning a piece of work asks colleagues from another department or organisation, who have faced a comparable challenge, to spend a structured session with them. The visitors bring their hindsight: what they would repeat, what they would avoid and what surprised them.

The home team leaves either with more confidence in the approach it had chosen or with good reasons to change course while change is still cheap.

## How to run it

1. Appoint a facilitator, ideally someone outside the home team.
2. Agree what the home team hopes to gain, and give the visitors a short briefing pack in good time explaining the aims of the session and the background.
3. The home team sets the scene: the background, where things stand and what it intends to do.
4. The visitors ask questions and describe their own experience, both what went well and what they would do differently.
5. The home team withdraws to discuss what it has heard and weigh up its options.
6. Everyone reconvenes: the visitors offer their observations and respond to any outstanding questions, and the two groups settle on next steps together.

## When to use it

- Before starting a project, service or change that someone else has already delivered.
- When a plan is drafted and you want it tested by people with practical experience.
- When the cost of getting it wrong is high.

Allow around half a day, plus preparation time for the facilitator.

## Example

A hospital library is about to move its interlibrary loan requests onto a new regional request system. The manager invites two colleagues from neighbouring trusts that switched the previous year. During the afternoon session the visitors explain that their biggest problem was requests stranded between the old and new systems. The home team drops its plan for a single weekend changeover and instead runs both systems side by side for a month, with one named person checking the old queue each day.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'before-action-review',
'Before action review',
'before',
3,
'Helps a team agree, just before it starts, what it is aiming for, what past lessons apply and which risks to prepare for.',
15,
60,
2,
15,
'## What it is for

A short conversation at the very start of a project, a stage or any piece of work. Before anyone acts, the team gets clear on the job, the reason for it and what done looks like. It then checks what earlier work, its own or other people''s, can teach it, and names the risks it ought to prepare for. Borrowing lessons up front is the part teams most often skip and the part that pays back most.

## How to run it

Gather everyone who will do the work and talk through four questions, writing down the answers:

1. What exactly are we trying to achieve, and how will we know when we have done it?
2. What have we, or others elsewhere, learned from similar work that we can use here?
3. What will make the biggest difference between success and failure this time?
4. What will we do to avoid the problems we can foresee and to repeat what has worked before?

Keep the notes; they give the after action review or retrospect something to compare against.

## When to use it

- Right before a project, a new phase or a one-off event begins.
- Whenever a group forms to take on a new task.
- When time is tight: a useful version takes only a quarter of an hour.

## Example

The falls prevention team on an older people''s ward is about to introduce a new bedside risk checklist. In a twenty-minute huddle they recall that an earlier checklist was quietly abandoned because the night staff had never been briefed on it. This time they arrange briefings on every shift pattern before launch and ask the ward''s clinical librarian for the latest evidence on which checklist items actually reduce falls.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'appreciative-inquiry',
'Appreciative inquiry',
'before',
4,
'Builds on a group''s existing strengths and successes to imagine an ambitious future and plan the route to it.',
120,
240,
4,
30,
'## What it is for

Instead of beginning with problems to fix, appreciative inquiry asks people to look at their successes, understand what made them possible and use that understanding to imagine an ambitious future. The vision is frequently shown in a creative form, such as a drawing, a story or a mock headline.

It tends to build energy and goodwill, which makes it a good way to involve many people in shaping a change.

## How to run it

A common structure has four stages:

1. **Discover:** in pairs, people interview each other about a time when things went really well and what made that possible.
2. **Dream:** small groups picture what the ideal future would look like and present it creatively.
3. **Design:** the whole group agrees the principles and changes that would turn that future into reality.
4. **Deliver:** people commit to first steps, owners and a way of sharing progress.

Throughout, frame questions positively, for example "When did this work at its best?" rather than "What keeps going wrong?"

## When to use it

- When an organisation or team is refreshing its values, vision or strategy.
- When problem-focused approaches have stalled or morale is low.
- When you need broad engagement rather than a plan written by a few people.

## Example

Two hospital library teams are about to merge after their trusts combine. Rather than opening with a list of differences, the service lead runs a half-day appreciative inquiry. Staff from both sites pair up and describe the piece of work they are proudest of, then groups draw the front page of the staff newsletter as they would like it to look two years after the merger. The shared themes that emerge, such as fast answers for clinicians and teaching on the wards, become the backbone of the merged service plan.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'after-action-review',
'After action review',
'during',
1,
'Lets a team take stock straight after an activity so it can learn and change course while the wider work carries on.',
10,
60,
2,
15,
'## What it is for

The moment an activity wraps up, whether a teaching session, a go-live or one test of change in an improvement cycle, the people who did it spend a few minutes looking back together. A team member normally leads it, and it works best when nobody who took part is left out.

It is not a post-mortem at the end of a large project. It is a quick pause inside the work, so that lessons can be applied at once. Asking why things differed from the plan, rather than who caused a problem, keeps the conversation about learning rather than blame.

## How to run it

Bring together everyone involved and work through four questions:

1. What did we expect to happen?
2. What actually happened?
3. Why were the plan and the reality different?
4. What will we keep doing, and what will we change next time?

For a short activity ten to fifteen minutes is usually enough; allow longer after a bigger piece of work. Record the agreed changes and act on them.

## When to use it

- Immediately after a training session, an event, a go-live or a shift.
- At the Study step of each Plan-Do-Study-Act cycle.
- Repeatedly during a long project, after each milestone or sprint.

## Example

Two librarians deliver the first session of a new literature searching course for junior doctors. Afterwards they spend ten minutes on an after action review. They had planned to cover three databases but reached only one, because half the group could not log in. The difference came from accounts not being set up in advance, so before the next session they email set-up instructions a week ahead and keep the first fifteen minutes for anyone still locked out.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'knowledge-cafe',
'Knowledge cafe',
'during',
2,
'Brings people together for open, relaxed conversation in small groups around one question, so that each person leaves with new insight from the others.',
60,
120,
8,
50,
'## What it is for

A knowledge cafe is a facilitated, informal conversation. People sit in small groups, talk about one open question and move between tables so that ideas cross-pollinate. Nobody is asked to reach a decision; the benefit comes from talking, listening and the fresh thinking each participant carries back to their own work.

Cafes are good at getting teams that seldom meet to see a problem through each other''s eyes, and they often turn up ideas people can act on.

## How to run it

1. Most of the work happens beforehand: settle on one open question, one that cannot be answered yes or no and that gets people exploring causes and possibilities.
2. Set the room up like a cafe, with small tables of four or five people.
3. Open with a very brief introduction to the topic and the question; avoid a long presentation.
4. Let the tables talk for about twenty minutes, then ask people to move so the groups mix. Run two or three rounds.
5. Bring everyone back into one circle to share the themes and ideas that came up.
6. Finish by asking each person what they will take away or do differently.

## When to use it

- For complex questions that have no single right answer.
- To connect professions or teams that rarely talk to each other.
- To launch or energise a community around a shared topic.

Allow one to two hours.

## Example

A health library hosts a lunchtime cafe for ward managers and practice educators on the question "What would help busy clinical teams keep up with new evidence?". Over three rounds the tables come up with ideas such as a five-minute evidence slot in the daily safety huddle and a shared email alert for each specialty. The library pilots the huddle slot on two wards the following month.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'communities-of-practice',
'Communities of practice',
'during',
3,
'Connects people who share a role, purpose or interest so that they can keep exchanging ideas, questions and experience over time.',
60,
90,
5,
NULL,
'## What it is for

A community of practice is an ongoing network rather than a one-off event. Its members have something in common, whether a job, a professional interest or a problem to solve, and they gain from comparing notes. Communities that thrive do not run themselves: somebody has to spark discussion, welcome newcomers and keep the topics useful.

Members often build up a shared library of useful material between meetings, which can grow into a knowledge asset.

## How to run it

1. Identify the shared purpose: who would benefit and what they want to get better at.
2. Find a coordinator who will nurture the group, welcome newcomers and keep activity going.
3. Choose how members will connect, such as a regular online call, a discussion channel or occasional face-to-face events.
4. Hold regular sessions of an hour or so, mixing members'' stories, open questions and short pieces of input.
5. Keep a shared space for useful resources and the best answers to common questions.
6. Every so often, ask members whether the community still meets their needs and adjust it.

## When to use it

- When people do similar work in different places and rarely meet.
- For specialists who are the only person doing their job in their organisation.
- After a course or programme, to keep participants learning from each other.

## Example

Clinical librarians across a region, each the only one in their own trust, set up a community of practice. They meet on a video call for an hour each month, where one member walks through a tricky search and the others suggest improvements. Between calls they add search strategies and teaching materials to a shared folder, which new clinical librarians now use as their starting point.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'knowledge-assets',
'Knowledge assets',
'during',
4,
'Turns scattered know-how on a topic into a single, well-organised resource that newcomers can pick up and use.',
120,
480,
1,
NULL,
'## What it is for

A knowledge asset is a curated collection built around a topic or task. It might hold lessons learned, short case stories, the names of people worth talking to, examples of good practice and the key published evidence, all arranged so that someone new to the subject can quickly find what they need.

The aim is not to store everything but to select what is useful and present it in a form people will actually use.

## How to run it

1. Decide who the asset is for and what they will need to do with it.
2. Collect material: lessons learned, case stories, contacts, guidance and published evidence.
3. Sift it, keeping only what adds value, and summarise long documents.
4. Organise the content around themes or the questions users actually ask.
5. Publish it where the audience already looks, such as an intranet page or shared site, with a named owner and a review date.
6. Keep it current, and invite users to suggest additions and corrections.

## When to use it

- When the same questions keep arriving from different people.
- At the end of a project stage, to package what has been learned so far.
- To support a community of practice or an improvement programme.
- When a team''s know-how sits with only one or two people.

## Example

A trust is setting up a menopause support service for its staff. The library team builds a single web page for the project group, arranged around its main questions. It holds brief summaries of the evidence, contact details for colleagues who run similar services elsewhere, the lessons from a small pilot clinic and links to national guidance. When a second site starts its own clinic, its lead is sent the page instead of a pile of papers.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'action-learning-sets',
'Action learning sets',
'during',
5,
'Helps each member of a small, steady group make progress on a live work problem, using the group''s questions rather than its advice.',
120,
180,
4,
8,
'## What it is for

An action learning set is a small group that meets regularly over several months. Each member brings a genuine issue from their work. Rather than offering advice, the others ask open questions, the way a good coach would, so the person can look at the issue afresh and decide what to try. At the next meeting, members report back on what happened.

A facilitator looks after the process: holding the group to its format, slowing down anyone who rushes to fix things, and checking that each person has something to try before the next meeting.

## How to run it

1. At the first meeting, agree ground rules: confidentiality, careful listening and questions rather than solutions.
2. Open each meeting with a brief round of updates on the actions members took since last time.
3. One member describes an issue in a few minutes, without interruption.
4. The others ask open questions to help the presenter explore it. The facilitator steps in if anyone starts offering fixes.
5. The presenter decides what actions to try before the next meeting.
6. Repeat for other members as time allows, and close with each person naming one thing they have learned.

## When to use it

- In leadership and management development programmes.
- When people face complex problems at work with no obvious answer.
- When a group can commit to meeting every four to eight weeks for a series of sessions.

## Example

Five ward sisters who have recently taken on management roles join a set that meets every six weeks. At one meeting a member brings a long-running disagreement in her team about rotas. Questions from the group help her see that the real issue is that nobody knows how requests are decided. She agrees to publish simple rules for rota requests, and at the next meeting she reports that complaints have fallen noticeably.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'randomised-coffee-trials',
'Randomised coffee trials',
'during',
6,
'Pairs people at random for a short, informal conversation so that they build connections across roles, teams and professions.',
30,
30,
2,
NULL,
'## What it is for

A light-hearted, low-effort way to grow networks. People who sign up are matched at random, whatever their job or grade, and meet for about half an hour with no agenda. Conversations break down silos, introduce people who would never normally meet and often spark unexpected ideas or collaborations.

## How to run it

1. Invite people to opt in, explaining that there is no agenda and no preparation needed.
2. For each round, match participants at random, ideally avoiding people who already know each other. This service can do the matching and send the introductions for you.
3. Each pair arranges a time that suits them.
4. They talk for about thirty minutes, face to face, by phone or on a video call.
5. Run new rounds at a steady rhythm, for example every two or four weeks.
6. Ask for brief feedback now and then, and share stories of what came out of the conversations.

## When to use it

- To connect staff across a large or spread-out organisation.
- After a merger or restructure, when teams do not yet know each other.
- At a conference or study day, to get delegates talking to strangers rather than the colleagues they arrived with.
- To help new starters build a network quickly.

## Example

A hospital library launches a trial open to all staff and sixty people sign up, from porters and administrators to consultants. Every fortnight each person receives a new match. One pairing puts a pharmacist together with a librarian; they discover they answer many of the same medicines questions and go on to produce a joint monthly bulletin of new drug evidence for prescribers.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'fishbowl-conversations',
'Fishbowl conversations',
'during',
7,
'Structures a group discussion so that a few people talk in an inner circle while everyone else listens and can step in, giving many voices a chance to be heard.',
45,
90,
8,
60,
'## What it is for

A fishbowl replaces the fixed line-up of a panel with a small circle of seats that anyone can join. A handful of people talk in the inner circle while the rest of the group sits around them and listens. Because people keep swapping in and out, the discussion is shaped by many perspectives rather than a few chosen speakers.

It suits contentious or topical subjects where people hold different views and where airing them openly is valuable.

## How to run it

1. Place four or five chairs in a small inner circle, with the audience seated around it. Leave one inner chair empty.
2. The facilitator introduces the topic, the question and the ground rules.
3. A few volunteers or invited speakers start the conversation in the inner circle.
4. Anyone in the outer circle who wants to contribute takes the empty chair, and one of the inner speakers then leaves so that a chair is free again.
5. Continue until the time is up or the conversation has run its course.
6. Close by summarising the main points and any themes worth following up.

## When to use it

- For debating a contentious or topical issue.
- In place of a panel session at a conference or study day.
- When you want many perspectives heard, not only those of the experts.

## Example

At a regional study day for library staff, the organisers replace the planned panel on artificial intelligence tools for literature searching with a fishbowl. Two enthusiasts and one sceptic open the discussion. Over the next hour more than a dozen delegates rotate through the spare chair, raising points about accuracy, transparency and training that the original panel would not have covered. The summary becomes the agenda for a follow-up working group.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'retrospect',
'Retrospect',
'after',
1,
'Reviews a finished project in depth so that its lessons are recorded for the next team rather than lost when the project team breaks up.',
60,
180,
3,
20,
'## What it is for

Think of a retrospect as the after action review''s bigger sibling. It takes place once the work is finished but before the people who did it scatter, and it digs deeper, looking at the whole life of the project. Including someone who will put the lessons to use, such as the lead of a project about to begin, sharpens the discussion and gives the learning somewhere to go.

The lessons are written up so they can be found and reused later, often as part of a knowledge asset.

## How to run it

1. Hold the meeting soon after the work finishes, before people move on, with the whole team and if possible a future user of the lessons.
2. Recall the objectives: what did we set out to do, and how does the end result compare?
3. Walk through the timeline. What went well, and why? What went less well, and why?
4. Ask everyone to score the project out of ten, then ask what it would have taken to earn a ten.
5. Turn the answers into specific, practical recommendations for future work.
6. Record the lessons and share them where others will find them, for example in a knowledge asset.

## When to use it

- At the end of a project, a major stage or a significant one-off event.
- Before a temporary team is disbanded.
- When another team is about to start similar work and could use the lessons.

## Example

A project that moved a hospital''s clinical guidelines onto a new online platform comes to an end. The project manager runs a two-hour retrospect and invites the lead of a planned project to move patient information leaflets. Scores average six out of ten. Asked what it would have taken to earn a ten, the team agrees that clinicians should have tested the search function much earlier. That recommendation is written into the leaflet project''s plan from day one.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'knowledge-harvesting',
'Knowledge harvesting',
'after',
2,
'Draws out and packages the know-how of a person or team before it is lost, for instance when someone leaves or a project ends, so that others can reuse it.',
60,
120,
2,
6,
'## What it is for

Organisations lose a surprising amount when people move on or teams break up. Knowledge harvesting is a deliberate effort to draw out what someone knows, such as their judgement, contacts and shortcuts, and turn it into something colleagues can use. Typical triggers are a retirement, a resignation, the close of a project or the return of a secondee, and the harvested material doubles as a fast induction for whoever comes next.

Success depends on focus rather than volume: begin well ahead of the deadline, choose your questions with care and decide early what form the finished product will take.

## How to run it

1. Start early: weeks or months before the person leaves or the work ends, not on the final day.
2. Identify which knowledge matters most and who will need it.
3. Prepare questions, for example: Which decisions do you make that others do not see? Who do you turn to when something goes wrong? What do you wish you had known when you started?
4. Hold one or more conversations or interviews, taking careful notes or recordings.
5. Package the essentials in a form people will use, such as a short guide, a contact list, a set of frequently asked questions or a short video.
6. Check the result with the people who will rely on it and store it where they will find it.

## When to use it

- When an experienced member of staff is retiring, resigning or changing role.
- When a project closes or a secondment ends.
- Before a restructure that will break up an established team.

## Example

The librarian who has supported systematic reviews at a teaching hospital for many years is due to retire in three months. Her manager arranges three one-hour conversations with her and two colleagues. They capture how she judges whether a review request is realistic, the researchers she works with most often and her favourite search filters. The result is a twelve-page guide and a list of contacts that the team now uses with every new review request.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);

INSERT INTO techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at) VALUES (
'leavers-toolkit',
'Leaver''s toolkit',
'after',
3,
'Offers someone who is leaving a role a choice of simple activities for handing on their knowledge and contacts to colleagues and their successor.',
30,
120,
1,
10,
'## What it is for

When someone moves on, much of what they know goes with them unless it is deliberately passed on. The leaver''s toolkit gives a departing colleague a set of ready-made ways to hand over what they know, from written notes to shadowing, so they can pick the ones that suit their role and the time left.

What is captured also helps the next person in post settle in quickly, sometimes called rapid onboarding.

## How to run it

1. As soon as the departure is known, the leaver and their manager agree what knowledge needs passing on and to whom.
2. The leaver lists their regular tasks, key contacts, recurring deadlines and the unwritten rules of the job.
3. Together they choose activities from the toolkit, such as handover notes, shadowing, introductions to key contacts or a recorded walk-through of complex tasks.
4. Schedule the handover sessions with colleagues or the successor well before the leaving date.
5. Save everything produced where the next person in the role will find it.

## When to use it

- When someone is retiring, resigning, moving to a new role or going on secondment.
- When a post will be vacant for a while before a successor starts.
- As part of a preparing-for-retirement course, to encourage people to think about the knowledge they hold.

## Example

The manager of a hospital''s outreach library service accepts a post in another region, and her successor has not yet been appointed. Using the toolkit, she writes a handover pack covering the service''s funding arrangements and yearly cycle, records a short screen-share explaining the usage statistics, and introduces her deputy to the main contacts in each partner organisation. When the new manager arrives two months later, the pack lets him start making decisions within his first week.',
1,
'2026-11-25T00:00:00Z',
'2026-11-25T00:00:00Z'
);
