"""The knowledge base: articles with sanitised HTML, PostgreSQL full-text search ranked with highlighted snippets, and
the articles a ticket's words suggest. Every function takes the caller's `TenantScope`."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import nh3
from msgspec import UNSET

from app.core.errors import ResourceNotFound
from app.core.pagination import ListQuery, Page, page_of, sort_order
from app.db import TenantScope, fetch, fetch_as, tenant_transaction
from app.events.service import Subject, emit
from app.support import policy, schemas
from app.support.tables import KbArticle

SORTS = {"updated_at": "updated_at", "title": "title", "created_at": "created_at"}
# What the body may hold: ammonia's safe defaults (no script, style, event handler or javascript: link).
_BLOCK = re.compile(r"<(/?)(p|div|br|li|h[1-6]|tr|td|th|ul|ol|blockquote|pre|section|article)\b", re.IGNORECASE)
# ts_headline marks matches with these (characters no article holds), so the snippet can be escaped before they
# become <mark>: an article's text reaches the page as text, never as markup.
_START, _STOP = "\x02", "\x03"
HEADLINE = f'StartSel={_START}, StopSel={_STOP}, MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
_COLUMNS = "id, title, content, category, tags, status, author_id, created_at, updated_at"


def sanitise(content: str) -> str:
    """An article's HTML with only safe tags and attributes kept (nh3, the Rust ammonia sanitiser)."""
    return nh3.clean(content)


def plain_text(content: str) -> str:
    """The words of an article's HTML (what the search indexes and snippets quote), blocks separated by spaces."""
    spaced = _BLOCK.sub(r" <\1\2", content)
    return re.sub(r"\s+", " ", html.unescape(nh3.clean(spaced, tags=set()))).strip()


def highlighted(snippet: str) -> str:
    """A `ts_headline` snippet as safe HTML: escaped, with its matches in `<mark>`."""
    return html.escape(snippet).replace(_START, "<mark>").replace(_STOP, "</mark>")


async def _read(scope: TenantScope, article_id: int) -> schemas.Article:
    if not 0 < article_id <= schemas.BIGINT_MAX:
        raise ResourceNotFound("Article not found", details={"article_id": article_id})
    rows = await fetch_as(
        schemas.Article, f"SELECT {_COLUMNS} FROM kb_article WHERE tenant_id = $1 AND id = $2", scope.tenant_id, article_id
    )
    if not rows or (rows[0].status == "draft" and not policy.KB_EDIT.allows(scope)):
        raise ResourceNotFound("Article not found", details={"article_id": article_id})
    return rows[0]


async def get_article(scope: TenantScope, article_id: int) -> schemas.Article:
    """One article (drafts only for those who write them)."""
    policy.KB_VIEW.require(scope)
    async with tenant_transaction(scope.tenant_id):
        return await _read(scope, article_id)


async def list_articles(scope: TenantScope, query: ListQuery, category: str | None = None) -> Page[schemas.Article]:
    """Articles, most recently updated first (drafts only for those who write them)."""
    policy.KB_VIEW.require(scope)
    order = sort_order(query.sort, SORTS, "-updated_at")
    where: list[str] = ["tenant_id = $1"]
    args: list[Any] = [scope.tenant_id]
    if category:
        args.append(category)
        where.append(f"category = ${len(args)}")
    if not policy.KB_EDIT.allows(scope):
        where.append("status = 'published'")
    clause = " AND ".join(where)
    async with tenant_transaction(scope.tenant_id):
        total = (await fetch(f"SELECT count(*) AS n FROM kb_article WHERE {clause}", *args))[0]["n"]
        rows = await fetch_as(
            schemas.Article,
            f"SELECT {_COLUMNS} FROM kb_article WHERE {clause} ORDER BY {order.sql()} LIMIT {query.limit} OFFSET {query.offset}",
            *args,
        )
    return page_of(schemas.Article, rows, query, int(total))


def _payload(article: schemas.Article) -> dict[str, Any]:
    return {"article_id": article.id, "title": article.title, "category": article.category, "status": article.status}


async def create_article(scope: TenantScope, data: schemas.ArticleCreate) -> schemas.Article:
    """Write an article; its HTML is sanitised and its words indexed for search."""
    policy.KB_EDIT.require(scope)
    content = sanitise(data.content)
    now = datetime.now(UTC)
    async with tenant_transaction(scope.tenant_id):
        rows = await KbArticle.insert(
            KbArticle(
                tenant_id=scope.tenant_id,
                title=data.title.strip(),
                content=content,
                body_text=plain_text(content),
                category=data.category.strip(),
                tags=sorted({t.strip() for t in data.tags} - {""}),
                status=data.status,
                author_id=scope.user_id,
                created_at=now,
                updated_at=now,
            )
        ).returning(KbArticle.id)
        article = await _read(scope, rows[0]["id"])
        await emit(scope, Subject("kb_article", article.id), "created", f"Article written: {article.title}", audit=_payload(article))
        return article


async def update_article(scope: TenantScope, article_id: int, data: schemas.ArticleUpdate) -> schemas.Article:
    """Change an article (publish a draft, edit its body…)."""
    policy.KB_EDIT.require(scope)
    values: dict[str, Any] = {name: value for name in data.__struct_fields__ if (value := getattr(data, name)) is not UNSET}
    if "content" in values:
        values["content"] = sanitise(values["content"])
        values["body_text"] = plain_text(values["content"])
    if "tags" in values:
        values["tags"] = sorted({t.strip() for t in values["tags"]} - {""})
    for name in ("title", "category"):
        if name in values:
            values[name] = values[name].strip()
    async with tenant_transaction(scope.tenant_id):
        before = await _read(scope, article_id)
        changed = {k: v for k, v in values.items() if k == "body_text" or getattr(before, k) != v}
        if set(changed) - {"body_text"}:
            await KbArticle.update({**changed, "updated_at": datetime.now(UTC)}).where(KbArticle.id == article_id)  # type: ignore[arg-type,dict-item]
            after = await _read(scope, article_id)
            await emit(
                scope, Subject("kb_article", article_id), "updated", f"Article changed: {', '.join(sorted(set(changed) - {'body_text'}))}"
            )
            return after
        return before


async def delete_article(scope: TenantScope, article_id: int) -> None:
    """Remove an article (audited)."""
    policy.KB_EDIT.require(scope)
    async with tenant_transaction(scope.tenant_id):
        article = await _read(scope, article_id)
        await KbArticle.delete().where((KbArticle.id == article_id) & (KbArticle.tenant_id == scope.tenant_id))
        await emit(scope, Subject("kb_article", article_id), "deleted", audit=_payload(article))


# Searches read `kb_article_fts` (see its migration): the tenant's published articles matching the tsquery this
# transaction set in `app.kb_query`, found through the GIN index.
_SEARCH = f"""SELECT a.id, a.title, a.category, a.tags, a.rank, ts_headline('english', a.body_text, q.query, '{HEADLINE}') AS snippet,
                    a.updated_at
               FROM (SELECT id, title, category, tags, body_text, updated_at,
                            ts_rank_cd(search, current_setting('app.kb_query')::tsquery, 32)::float8 AS rank
                       FROM kb_article_fts WHERE tenant_id = $1 {{category}}
                      ORDER BY rank DESC, updated_at DESC, id DESC LIMIT {{limit}}) a,
                    (SELECT current_setting('app.kb_query')::tsquery AS query) q
              ORDER BY a.rank DESC, a.updated_at DESC, a.id DESC"""
# The tsquery of what a person typed (words, "phrases", -excluded, or).
_TYPED = "SELECT set_config('app.kb_query', websearch_to_tsquery('english', $1)::text, true)"
# The tsquery of a ticket's words, any of them.
_ANY_WORD = """SELECT set_config('app.kb_query', coalesce((
                 SELECT to_tsquery('english', string_agg(quote_literal(w), ' | '))::text
                   FROM (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', $1))) AS w) words), ''), true)"""


def _hits(rows: list[dict[str, Any]]) -> list[schemas.ArticleHit]:
    return [schemas.ArticleHit(**{**row, "snippet": highlighted(row["snippet"]), "rank": round(row["rank"], 4)}) for row in rows]


async def search(scope: TenantScope, query: str, category: str | None = None, limit: int = 20) -> schemas.ArticleSearch:
    """Published articles matching `query` (web-search syntax: words, "quoted phrases", -excluded, or), best first by
    `ts_rank_cd` (title matches weigh most, then tags, then the body), each with a snippet whose matches are marked."""
    policy.KB_VIEW.require(scope)
    text = query.strip()
    args: list[Any] = [scope.tenant_id]
    extra = ""
    if category:
        args.append(category)
        extra = f"AND category = ${len(args)}"
    rows: list[dict[str, Any]] = []
    if text:
        async with tenant_transaction(scope.tenant_id):
            await fetch(_TYPED, text)
            rows = await fetch(_SEARCH.format(category=extra, limit=int(limit)), *args)
    hits = _hits(rows)
    return schemas.ArticleSearch(query=text, total=len(hits), data=hits)


async def suggest_for_ticket(scope: TenantScope, title: str, description: str, limit: int = 3) -> list[schemas.ArticleHit]:
    """Published articles sharing the most words with a ticket (any of its words, ranked; the title counts twice)."""
    if not policy.KB_VIEW.allows(scope):
        return []
    async with tenant_transaction(scope.tenant_id):
        await fetch(_ANY_WORD, f"{title} {title} {description}"[:5000])
        rows = await fetch(_SEARCH.format(category="", limit=int(limit)), scope.tenant_id)
    return _hits(rows)
