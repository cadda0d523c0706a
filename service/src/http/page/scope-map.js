// The scope map: reads the public GraphQL API of the server that served it and draws the
// crosswalk, the gaps and (with a token) the overlap of designated operators. Read-only.
// The token lives in sessionStorage only, so it is gone when the tab closes.
'use strict';

(() => {
  const TOKEN_KEY = 'scope-registry.token';
  const LANG_KEY = 'scope-registry.lang';
  const PAGE_SIZE = 20;
  // The largest page the API serves; used to collect a whole list for its CSV.
  const MAX_PAGE_SIZE = 500;
  const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

  const RELATION_SYMBOL = { EQUAL: '=', SUBSET_OF: '⊂', SUPERSET_OF: '⊃', INTERSECTS_WITH: '∩' };

  const TEXT = {
    ja: {
      pageTitle: '保護対象範囲マップ — Scope Registry',
      title: '重要インフラ・基幹インフラ 保護対象範囲マップ',
      lede: '重要インフラ（サイバーセキュリティ基本法・行動計画の15分野）と基幹インフラ（経済安全保障推進法第50条の15事業）の対応、重なりと隙間。',
      asOf: '基準日',
      today: '今日',
      graphiql: 'GraphQL API（GraphiQL）',
      crosswalkHeading: '対応表：重要インフラ分野 ↔ 基幹インフラ事業',
      crosswalkHint: '関係の記号を押すと判断の根拠を、分野・事業名を押すと含まれる事業・サービスを表示します。',
      gapsHeading: 'どの対応にも含まれない事業・サービス',
      gapsHint: 'どちらかの制度の対象でありながら、もう一方の制度の事業・サービスとの対応が定められていないもの。',
      overlapHeading: '指定の重なり（事業者数）',
      downloadCrosswalk: '対応表 CSV',
      downloadGaps: '対応なし・対象外 CSV',
      downloadOverlap: '重なり CSV',
      downloadOperators: '全事業者 CSV',
      downloadWorkbook: 'すべて Excel (.xlsx)',
      downloadList: 'この一覧を CSV',
      tokenLabel: 'アクセストークン',
      tokenUse: '使用する',
      tokenSet: 'トークン設定済み（このタブを閉じると消えます）',
      tokenClear: 'トークンを消去',
      footer: '出典：重要インフラサイバーセキュリティ対策推進会議 第1回課長級会議資料「検討すべき論点等」（2025年8月26日、内閣官房国家サイバー統括室）ほか。関係（EQUAL・SUBSET_OF・SUPERSET_OF・INTERSECTS_WITH）は本レジストリの判断で、根拠とともに記録しています。',
      ci: '重要インフラ分野',
      espa: '基幹インフラ事業',
      ciShort: '重要インフラ',
      espaShort: '基幹インフラ',
      relation: '関係',
      noCounterpart: '対応なし',
      noDomain: '対応する基幹インフラ事業なし',
      noSector: '対応する重要インフラ分野なし',
      uncovered: 'どの対応にも含まれない',
      ministry: '所管',
      source: '出典',
      scopeItems: '事業・サービス',
      summary: (s) => `重要インフラ分野 ${s.sectors}・基幹インフラ事業 ${s.domains}・対応 ${s.links}・対応なし：分野 ${s.sectorsWithout}、事業 ${s.domainsWithout}・どの対応にも含まれない事業・サービス：${s.itemsWithout}`,
      relationName: { EQUAL: '同一', SUBSET_OF: '重要インフラ側が含まれる', SUPERSET_OF: '重要インフラ側が含む', INTERSECTS_WITH: '一部が重なる' },
      relationMeaning: {
        EQUAL: '両者は同じ範囲を対象とします。',
        SUBSET_OF: '重要インフラ側の範囲は基幹インフラ側に含まれます。',
        SUPERSET_OF: '重要インフラ側の範囲が基幹インフラ側を含みます。',
        INTERSECTS_WITH: '両者は一部が重なり、どちらも他方を含みません。',
      },
      ciItemsWithout: '重要インフラのサービス',
      espaItemsWithout: '基幹インフラの特定社会基盤事業',
      noneAtDate: 'この基準日にはありません。',
      loading: '読み込み中…',
      loadFailed: (m) => `読み込めませんでした：${m}`,
      invalidDate: '基準日は YYYY-MM-DD の日付で指定してください。',
      tokenNeeded: '事業者の数と一覧の表示には、閲覧用以上のアクセストークンが必要です（発行：scope-registry token issue --role reader）。トークンはこのタブの中だけに保存され、閉じると消えます。',
      tokenEmpty: 'トークンを入力してください。',
      tokenRefused: (m) => `トークンが受け付けられませんでした（無効・期限切れ・取り消し済みのいずれか）：${m}`,
      tokenForbidden: (m) => `このトークンでは事業者データを閲覧できません：${m}`,
      totalBoth: '両方の制度',
      totalEspaOnly: '基幹インフラのみ',
      totalCiOnly: '重要インフラのみ',
      totalAll: (n) => `いずれかの制度で指定・特定されている事業者：${n}`,
      cellsHeading: '対応する分野・事業の両方に指定されている事業者',
      gapsTableHeading: '基幹インフラ事業に指定されているが、対応する重要インフラ分野の事業者ではないもの',
      linkedSectors: '対応する重要インフラ分野',
      operatorsCount: '事業者数',
      none: 'なし',
      search: '事業者名で検索',
      searchButton: '検索',
      listBoth: '両方の制度で指定・特定されている事業者',
      listEspaOnly: '基幹インフラのみで指定されている事業者',
      listCiOnly: '重要インフラのみで特定されている事業者',
      listCell: (s, d) => `${s} と ${d} の両方に指定されている事業者`,
      listGap: (d) => `${d} に指定され、対応する重要インフラ分野の事業者ではない事業者`,
      listSearch: (q) => `名称に「${q}」を含む事業者`,
      corporateNumber: '法人番号',
      name: '名称',
      range: (from, to, total) => `全 ${total} 件中 ${from}–${to} 件`,
      noOperators: '該当する事業者はありません。',
      previous: '← 前へ',
      next: '次へ →',
      close: '閉じる',
      designations: '指定・特定の履歴',
      regime: '制度',
      field: '分野・事業',
      scopeItem: '対象の事業・サービス',
      from: '開始',
      to: '終了',
      toNote: '終了日は、対象でなくなる最初の日です。',
      status: (d) => `${d} の状態`,
      designatingMinistry: '所管省庁',
      legalBasis: '根拠',
      reference: '告示等の番号',
      revocationReason: '取消の理由',
      statusActive: '有効',
      statusFuture: '開始前',
      statusEnded: '期間終了',
      statusRevoked: '取消',
      wholeField: '全体',
      noDesignations: '指定・特定の記録はありません。',
      obligations: (d) => `${d} に課される義務`,
      noObligations: 'この基準日に課される義務はありません。',
      inForce: '施行済み',
      notInForce: (d) => (d ? `${d} 施行` : '施行日未定'),
      closedOn: (d) => `${d} に閉鎖`,
      successor: (n) => `承継法人：${n}`,
      operatorMissing: (n) => `法人番号 ${n} の事業者は登録されていません。`,
      exportMissing: 'この CSV 出力はこのサーバーではまだ提供されていません。',
      downloadFailed: (m) => `ダウンロードできませんでした：${m}`,
      downloaded: (f) => `${f} を保存しました。`,
    },
    en: {
      pageTitle: 'Scope map — Scope Registry',
      title: 'Critical and core infrastructure: the protection scope map',
      lede: 'Critical infrastructure (CI: the 15 sectors of the Cybersecurity Basic Act and its action plan) against core infrastructure (ESPA: the 15 business domains of Economic Security Promotion Act Art. 50): how they correspond, overlap and leave gaps.',
      asOf: 'As of',
      today: 'Today',
      graphiql: 'GraphQL API (GraphiQL)',
      crosswalkHeading: 'Crosswalk: CI sectors ↔ ESPA business domains',
      crosswalkHint: 'Press a relation to see why it was chosen, and a sector or domain to see its services and sub-businesses.',
      gapsHeading: 'Services and sub-businesses no link covers',
      gapsHint: 'In scope of one regime, with no corresponding service or sub-business recorded in the other.',
      overlapHeading: 'Overlap of designations (operators)',
      downloadCrosswalk: 'Crosswalk CSV',
      downloadGaps: 'Gaps CSV',
      downloadOverlap: 'Overlap CSV',
      downloadOperators: 'All operators CSV',
      downloadWorkbook: 'Everything as Excel (.xlsx)',
      downloadList: 'This list as CSV',
      tokenLabel: 'Access token',
      tokenUse: 'Use',
      tokenSet: 'Token set (forgotten when this tab closes)',
      tokenClear: 'Forget token',
      footer: 'Source: material of the first section-chief-level meeting of the Critical Infrastructure Cybersecurity Promotion Council, 2025-08-26, National Cybersecurity Office, Cabinet Secretariat, and others. The relations (EQUAL, SUBSET_OF, SUPERSET_OF, INTERSECTS_WITH) are this registry’s judgements, recorded with their rationale.',
      ci: 'CI sector',
      espa: 'ESPA business domain',
      ciShort: 'CI',
      espaShort: 'ESPA',
      relation: 'Relation',
      noCounterpart: 'No counterpart',
      noDomain: 'No ESPA business domain',
      noSector: 'No CI sector',
      uncovered: 'Covered by no link',
      ministry: 'Ministry',
      source: 'Source',
      scopeItems: 'Services and sub-businesses',
      summary: (s) => `${s.sectors} CI sectors · ${s.domains} ESPA domains · ${s.links} links · without counterpart: ${s.sectorsWithout} sectors, ${s.domainsWithout} domains · services and sub-businesses covered by no link: ${s.itemsWithout}`,
      relationName: { EQUAL: 'Equal', SUBSET_OF: 'CI side contained', SUPERSET_OF: 'CI side contains', INTERSECTS_WITH: 'Intersect' },
      relationMeaning: {
        EQUAL: 'Both sides cover the same.',
        SUBSET_OF: 'The CI side is contained in the ESPA side.',
        SUPERSET_OF: 'The CI side contains the ESPA side.',
        INTERSECTS_WITH: 'The sides overlap, neither containing the other.',
      },
      ciItemsWithout: 'CI services',
      espaItemsWithout: 'ESPA sub-businesses',
      noneAtDate: 'None at this date.',
      loading: 'Loading…',
      loadFailed: (m) => `Could not load: ${m}`,
      invalidDate: 'Give the date as YYYY-MM-DD.',
      tokenNeeded: 'Operator counts and lists need an access token (reader or above; issued with scope-registry token issue --role reader). The token is kept in this tab only and forgotten when it closes.',
      tokenEmpty: 'Enter a token.',
      tokenRefused: (m) => `The token was refused (invalid, expired or revoked): ${m}`,
      tokenForbidden: (m) => `This token may not read operator data: ${m}`,
      totalBoth: 'Both regimes',
      totalEspaOnly: 'ESPA only',
      totalCiOnly: 'CI only',
      totalAll: (n) => `Operators designated under either regime: ${n}`,
      cellsHeading: 'Operators designated in both a CI sector and its linked ESPA domain',
      gapsTableHeading: 'Designated in an ESPA domain but not a CI operator in a linked sector',
      linkedSectors: 'Linked CI sectors',
      operatorsCount: 'Operators',
      none: 'none',
      search: 'Search operators by name',
      searchButton: 'Search',
      listBoth: 'Operators designated under both regimes',
      listEspaOnly: 'Operators designated under ESPA only',
      listCiOnly: 'Operators designated under CI only',
      listCell: (s, d) => `Operators designated in both ${s} and ${d}`,
      listGap: (d) => `Designated in ${d}, not CI operators in a linked sector`,
      listSearch: (q) => `Operators whose name contains “${q}”`,
      corporateNumber: 'Corporate number',
      name: 'Name',
      range: (from, to, total) => `${from}–${to} of ${total}`,
      noOperators: 'No operators match.',
      previous: '← Previous',
      next: 'Next →',
      close: 'Close',
      designations: 'Designations, with their history',
      regime: 'Regime',
      field: 'Sector or domain',
      scopeItem: 'Service or sub-business',
      from: 'From',
      to: 'Until',
      toNote: 'The end date is the first day it no longer holds.',
      status: (d) => `Status on ${d}`,
      designatingMinistry: 'Ministry',
      legalBasis: 'Legal basis',
      reference: 'Reference',
      revocationReason: 'Reason for revocation',
      statusActive: 'Active',
      statusFuture: 'Not yet in effect',
      statusEnded: 'Ended',
      statusRevoked: 'Revoked',
      wholeField: 'All of it',
      noDesignations: 'No designations recorded.',
      obligations: (d) => `Duties on ${d}`,
      noObligations: 'No duties at this date.',
      inForce: 'In force',
      notInForce: (d) => (d ? `In force from ${d}` : 'Date not yet set'),
      closedOn: (d) => `Closed on ${d}`,
      successor: (n) => `Successor: ${n}`,
      operatorMissing: (n) => `No operator is registered with corporate number ${n}.`,
      exportMissing: 'This server does not offer this CSV export yet.',
      downloadFailed: (m) => `Could not download: ${m}`,
      downloaded: (f) => `Saved ${f}.`,
    },
  };

  const FIELD = 'code nameJa nameEn ministries { code nameJa nameEn } scopeItems { code nameJa nameEn }';
  const NAMED = 'code nameJa nameEn';
  const SCOPE_QUERY = `query ScopeMap($asOf: Date) {
    sectors(asOf: $asOf) { ${FIELD} links { domain { code } relation rationale source } }
    businessDomains(asOf: $asOf) { ${FIELD} }
    scopeItemCrosswalk(asOf: $asOf) { sectorItem { code } domainItem { code } relation rationale }
    scopeGaps(asOf: $asOf) { sectorsWithoutDomain { code } domainsWithoutSector { code }
      sectorScopeItemsWithoutLink { code } domainScopeItemsWithoutLink { code } } }`;
  const OVERLAP_QUERY = `query Overlap($asOf: Date) { overlap(asOf: $asOf) { asOf
    totals { both espaOnly ciOnly }
    cells { sector { ${NAMED} } domain { ${NAMED} } operatorCount }
    domainGaps { domain { ${NAMED} } linkedSectors { ${NAMED} } operatorCount } } }`;
  const OPERATOR_ROW = `corporateNumber nameJa nameEn
    designations(asOf: $asOf) { regime sector { ${NAMED} } domain { ${NAMED} } }`;
  const PAGE = `totalCount edges { node { ${OPERATOR_ROW} } } pageInfo { hasNextPage endCursor }`;
  const FILTER_LIST_QUERY = `query Operators($filter: OperatorFilter, $asOf: Date, $first: Int, $after: String) {
    operators(filter: $filter, first: $first, after: $after) { ${PAGE} } }`;
  const GAP_LIST_QUERY = `query DomainGap($domain: String, $asOf: Date, $first: Int, $after: String) {
    overlap(asOf: $asOf) { domainGaps(domain: $domain) { operators(first: $first, after: $after) { ${PAGE} } } } }`;
  const OPERATOR_QUERY = `query Operator($cn: String!, $asOf: Date) { operator(corporateNumber: $cn) {
    corporateNumber nameJa nameEn closedOn successorCorporateNumber
    designations(includeHistory: true) { id regime status sector { ${NAMED} } domain { ${NAMED} }
      scopeItem { ${NAMED} } effectiveFrom effectiveTo legalBasis reference ministry { ${NAMED} } revocationReason }
    obligations(asOf: $asOf) { code nameJa nameEn legalBasis inForce inForceFrom } } }`;

  const state = {
    lang: 'ja',
    asOf: '',
    token: sessionStorage.getItem(TOKEN_KEY),
    scope: null,
    overlap: null,
    overlapProblem: null, // { kind: 'needed' | 'empty' | 'refused' | 'forbidden', message }
    list: null, // { selection, cursors: [after of each page so far], page }
    operator: null, // { corporateNumber, data }
    // Bumped on every date change: answers to older requests are dropped.
    generation: 0,
  };

  const $ = (id) => document.getElementById(id);
  const t = (key, ...args) => {
    const entry = TEXT[state.lang][key];
    return typeof entry === 'function' ? entry(...args) : entry;
  };
  const nameOf = (named) => (state.lang === 'en' && named.nameEn ? named.nameEn : named.nameJa);

  /** Creates an element; children are nodes or text (never parsed as HTML). */
  function h(tag, attrs, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') element.className = value;
      else if (key === 'dataset') Object.assign(element.dataset, value);
      else if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
      else element.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : String(child));
    }
    return element;
  }

  // ---- talking to the API ----

  class ApiFailure extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  async function graphql(query, variables, withToken) {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (withToken) headers.Authorization = `Bearer ${state.token}`;
    let response;
    try {
      response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    } catch (error) {
      throw new ApiFailure('NETWORK', error.message);
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ApiFailure('HTTP', `HTTP ${response.status}`);
    }
    if (body.errors && body.errors.length > 0) {
      const first = body.errors[0];
      throw new ApiFailure((first.extensions && first.extensions.code) || 'ERROR', first.message);
    }
    if (!response.ok) throw new ApiFailure('HTTP', `HTTP ${response.status}`);
    return body.data;
  }

  function showStatus(message, isError) {
    const status = $('status');
    status.textContent = message || '';
    status.className = isError ? 'error' : '';
  }

  /** A token problem becomes the overlap notice; anything else a status line. */
  function reportFailure(error) {
    if (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN') {
      setTokenProblem(error);
    } else {
      showStatus(t('loadFailed', error.message), true);
    }
  }

  function setTokenProblem(error) {
    if (error.code === 'UNAUTHENTICATED') {
      // A refused token is useless: forget it so that a reload does not try it again.
      sessionStorage.removeItem(TOKEN_KEY);
      state.token = null;
      state.overlapProblem = { kind: 'refused', message: error.message };
    } else {
      state.overlapProblem = { kind: 'forbidden', message: error.message };
    }
    state.overlap = null;
    state.list = null;
    state.operator = null;
    renderOverlap();
    renderList();
    renderOperator();
  }

  // ---- loading ----

  async function loadAll() {
    const generation = ++state.generation;
    const current = () => generation === state.generation;
    showStatus(t('loading'));
    const scope = graphql(SCOPE_QUERY, { asOf: state.asOf }, false)
      .then((data) => {
        if (!current()) return;
        state.scope = data;
        renderScope();
      });
    const tasks = [scope, loadOverlap(current)];
    // An open list starts again from its first page: the date changes who is in it.
    if (state.list) tasks.push(loadList(state.list.selection, [null], current));
    if (state.operator) tasks.push(loadOperator(state.operator.corporateNumber, current));
    try {
      await Promise.all(tasks);
      if (current()) showStatus('');
    } catch (error) {
      if (current()) reportFailure(error);
    }
  }

  async function loadOverlap(current) {
    if (!state.token) {
      state.overlap = null;
      if (!state.overlapProblem || state.overlapProblem.kind !== 'refused') state.overlapProblem = { kind: 'needed' };
      renderOverlap();
      return;
    }
    const data = await graphql(OVERLAP_QUERY, { asOf: state.asOf }, true);
    if (!current()) return;
    state.overlap = data.overlap;
    state.overlapProblem = null;
    renderOverlap();
  }

  /** Loads the page after the last of `cursors` (null: the first page). */
  async function loadList(selection, cursors, current) {
    const after = cursors[cursors.length - 1];
    const variables = { asOf: state.asOf, first: PAGE_SIZE, after };
    let page;
    if (selection.kind === 'gap') {
      const data = await graphql(GAP_LIST_QUERY, { ...variables, domain: selection.domain.code }, true);
      const gap = data.overlap.domainGaps[0];
      page = gap ? gap.operators : { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
    } else {
      const filter = { ...selection.filter, asOf: state.asOf };
      page = (await graphql(FILTER_LIST_QUERY, { ...variables, filter }, true)).operators;
    }
    if (!current()) return;
    state.list = { selection, cursors, page };
    renderList();
  }

  async function loadOperator(corporateNumber, current) {
    const data = await graphql(OPERATOR_QUERY, { cn: corporateNumber, asOf: state.asOf }, true);
    if (!current()) return;
    state.operator = { corporateNumber, data: data.operator };
    renderOperator();
  }

  /** Runs a user action's load, reporting a failure instead of throwing. */
  async function act(load) {
    const generation = state.generation;
    try {
      await load(() => generation === state.generation);
    } catch (error) {
      reportFailure(error);
    }
  }

  function openList(selection) {
    state.operator = null;
    renderOperator();
    act((current) => loadList(selection, [null], current)).then(() => {
      if (state.list) $('operators-section').scrollIntoView({ block: 'start' });
    });
  }

  function openOperator(corporateNumber) {
    act((current) => loadOperator(corporateNumber, current)).then(() => {
      if (state.operator) $('operator-section').scrollIntoView({ block: 'start' });
    });
  }

  // ---- the crosswalk and the gaps ----

  function renderScope() {
    if (!state.scope) return;
    renderCrosswalk();
    renderGaps();
  }

  /** Look-ups over the loaded reference data. */
  function scopeIndex() {
    const { sectors, businessDomains, scopeItemCrosswalk, scopeGaps } = state.scope;
    const items = new Map();
    for (const field of [...sectors, ...businessDomains]) {
      for (const item of field.scopeItems) items.set(item.code, item);
    }
    return {
      domains: new Map(businessDomains.map((d) => [d.code, d])),
      items,
      itemLinks: scopeItemCrosswalk,
      uncovered: new Set([
        ...scopeGaps.sectorScopeItemsWithoutLink.map((i) => i.code),
        ...scopeGaps.domainScopeItemsWithoutLink.map((i) => i.code),
      ]),
      sectorsWithout: new Set(scopeGaps.sectorsWithoutDomain.map((s) => s.code)),
      domainsWithout: new Set(scopeGaps.domainsWithoutSector.map((d) => d.code)),
    };
  }

  function relationBadge(relation) {
    return h('span', { class: `relation rel-${relation}` }, RELATION_SYMBOL[relation], ' ', t('relationName')[relation]);
  }

  /** A sector or domain, opening onto its scope items and their item-level links. */
  function fieldCell(field, regime, index, hasCounterpart) {
    const isCi = regime === 'CI';
    const ministries = field.ministries.map(nameOf).join('、');
    const items = field.scopeItems.map((item) => {
      const links = index.itemLinks.filter((l) => (isCi ? l.sectorItem.code : l.domainItem.code) === item.code);
      const uncovered = index.uncovered.has(item.code);
      return h(
        'li',
        { class: uncovered ? 'item uncovered' : 'item', dataset: { item: item.code } },
        h('span', { class: 'item-name' }, nameOf(item)),
        uncovered ? h('span', { class: 'badge uncovered-badge' }, t('uncovered')) : null,
        links.map((link) => {
          const other = index.items.get(isCi ? link.domainItem.code : link.sectorItem.code);
          return h(
            'span',
            { class: 'item-link', title: link.rationale },
            ' ↔ ',
            relationBadge(link.relation),
            ' ',
            other ? nameOf(other) : (isCi ? link.domainItem.code : link.sectorItem.code),
          );
        }),
      );
    });
    const attrs = { class: hasCounterpart ? 'field' : 'field no-counterpart', dataset: { [isCi ? 'sector' : 'domain']: field.code } };
    if (!hasCounterpart) attrs.dataset.counterpart = 'none';
    return h(
      'td',
      attrs,
      h(
        'details',
        {},
        h(
          'summary',
          {},
          h('span', { class: 'field-name' }, nameOf(field)),
          h('span', { class: 'code' }, field.code),
          hasCounterpart ? null : h('span', { class: 'badge none-badge' }, t('noCounterpart')),
        ),
        h('p', { class: 'ministry' }, `${t('ministry')}：${ministries || t('none')}`),
        h('ul', { class: 'items', 'aria-label': t('scopeItems') }, items),
      ),
    );
  }

  function relationCell(link) {
    return h(
      'td',
      { class: 'relation-cell' },
      h(
        'details',
        { class: 'why' },
        h('summary', { title: link.rationale }, relationBadge(link.relation)),
        h('p', { class: 'meaning' }, t('relationMeaning')[link.relation]),
        h('p', { class: 'rationale' }, link.rationale),
        h('p', { class: 'source' }, `${t('source')}：${link.source}`),
      ),
    );
  }

  const emptyCell = (text) => h('td', { class: 'empty' }, text);

  function renderCrosswalk() {
    const { sectors, businessDomains } = state.scope;
    const index = scopeIndex();
    const rows = [];
    let linkCount = 0;
    for (const sector of sectors) {
      const links = sector.links.filter((l) => index.domains.has(l.domain.code));
      linkCount += links.length;
      if (links.length === 0) {
        rows.push(h('tr', { class: 'no-counterpart' }, fieldCell(sector, 'CI', index, false), emptyCell('—'), emptyCell(t('noDomain'))));
        continue;
      }
      links.forEach((link, i) => {
        const sectorCell = i === 0 ? fieldCell(sector, 'CI', index, true) : null;
        if (sectorCell) sectorCell.rowSpan = links.length;
        rows.push(h('tr', {}, sectorCell, relationCell(link), fieldCell(index.domains.get(link.domain.code), 'ESPA', index, true)));
      });
    }
    for (const domain of businessDomains.filter((d) => index.domainsWithout.has(d.code))) {
      rows.push(h('tr', { class: 'no-counterpart' }, emptyCell(t('noSector')), emptyCell('—'), fieldCell(domain, 'ESPA', index, false)));
    }
    const table = $('crosswalk');
    table.replaceChildren(
      headRow([t('ci'), t('relation'), t('espa')]),
      h('tbody', {}, rows),
    );
    table.dataset.asOf = state.asOf;
    $('scope-summary').textContent = t('summary', {
      sectors: sectors.length,
      domains: businessDomains.length,
      links: linkCount,
      sectorsWithout: index.sectorsWithout.size,
      domainsWithout: index.domainsWithout.size,
      itemsWithout: index.uncovered.size,
    });
  }

  function renderGaps() {
    const { sectors, businessDomains, scopeGaps } = state.scope;
    const column = (title, fields, uncoveredItems) => {
      const uncovered = new Set(uncoveredItems.map((i) => i.code));
      const groups = fields
        .map((field) => ({ field, items: field.scopeItems.filter((i) => uncovered.has(i.code)) }))
        .filter((g) => g.items.length > 0);
      return h(
        'div',
        { class: 'gap-column' },
        h('h3', {}, title),
        groups.length === 0
          ? h('p', {}, t('noneAtDate'))
          : h('ul', {}, groups.map((g) => h('li', {}, h('strong', {}, nameOf(g.field)), '：', g.items.map(nameOf).join('、')))),
      );
    };
    const container = $('scope-gaps');
    container.replaceChildren(
      column(t('ciItemsWithout'), sectors, scopeGaps.sectorScopeItemsWithoutLink),
      column(t('espaItemsWithout'), businessDomains, scopeGaps.domainScopeItemsWithoutLink),
    );
    container.dataset.asOf = state.asOf;
  }

  // ---- the overlap ----

  const headRow = (labels) => h('thead', {}, h('tr', {}, labels.map((label) => h('th', { scope: 'col' }, label))));

  /** A captioned table whose rows are two labels and a count. */
  function countTable(id, caption, labels, rows) {
    return h(
      'table',
      { class: 'counts', id },
      h('caption', {}, caption),
      headRow(labels),
      h('tbody', {}, rows.map(([first, second, count]) => h('tr', {}, h('td', {}, first), h('td', {}, second), h('td', { class: 'num' }, count)))),
    );
  }

  function countButton(count, onOpen, attrs) {
    if (count === 0) return h('span', { class: 'count zero', ...attrs }, '0');
    return h('button', { type: 'button', class: 'count', onclick: onOpen, ...attrs }, String(count));
  }

  function renderOverlap() {
    const hasToken = Boolean(state.token);
    $('token-form').hidden = hasToken;
    $('token-state').hidden = !hasToken;
    const notice = $('overlap-notice');
    const problem = state.overlapProblem;
    notice.hidden = !problem;
    notice.className = problem && problem.kind !== 'needed' ? 'notice error' : 'notice';
    if (problem) {
      notice.dataset.problem = problem.kind;
      notice.textContent =
        problem.kind === 'refused' ? t('tokenRefused', problem.message)
          : problem.kind === 'forbidden' ? t('tokenForbidden', problem.message)
            : problem.kind === 'empty' ? t('tokenEmpty')
              : t('tokenNeeded');
    }
    const container = $('overlap');
    const report = state.overlap;
    if (!report) {
      container.replaceChildren();
      delete container.dataset.asOf;
      return;
    }
    const totals = report.totals;
    const total = (key, label, filter) =>
      h(
        'div',
        { class: `total total-${key}` },
        h('span', { class: 'total-label' }, label),
        countButton(totals[key], () => openList({ kind: 'filter', filter, title: () => t(`list${key[0].toUpperCase()}${key.slice(1)}`) }), { dataset: { total: key } }),
      );
    const cells = countTable(
      'overlap-cells',
      t('cellsHeading'),
      [t('ci'), t('espa'), t('operatorsCount')],
      report.cells.map((cell) => [
        nameOf(cell.sector),
        nameOf(cell.domain),
        countButton(
          cell.operatorCount,
          () => openList({
            kind: 'filter',
            filter: { sector: cell.sector.code, domain: cell.domain.code },
            title: () => t('listCell', nameOf(cell.sector), nameOf(cell.domain)),
          }),
          { dataset: { cell: `${cell.sector.code}/${cell.domain.code}` } },
        ),
      ]),
    );
    const gaps = countTable(
      'overlap-gaps',
      t('gapsTableHeading'),
      [t('espa'), t('linkedSectors'), t('operatorsCount')],
      report.domainGaps.map((gap) => [
        nameOf(gap.domain),
        gap.linkedSectors.length ? gap.linkedSectors.map(nameOf).join('、') : h('span', { class: 'badge none-badge' }, t('noCounterpart')),
        countButton(
          gap.operatorCount,
          () => openList({ kind: 'gap', domain: gap.domain, title: () => t('listGap', nameOf(gap.domain)) }),
          { dataset: { gap: gap.domain.code } },
        ),
      ]),
    );
    const search = h(
      'form',
      {
        class: 'search',
        onsubmit: (event) => {
          event.preventDefault();
          const text = event.target.elements.q.value.trim();
          if (text) openList({ kind: 'filter', filter: { nameContains: text }, title: () => t('listSearch', text) });
        },
      },
      h('label', {}, t('search'), ' ', h('input', { type: 'search', name: 'q', maxlength: '200' })),
      h('button', { type: 'submit' }, t('searchButton')),
    );
    container.replaceChildren(
      h(
        'div',
        { class: 'totals', id: 'totals' },
        total('both', t('totalBoth'), { regimes: ['CI', 'ESPA'] }),
        total('espaOnly', t('totalEspaOnly'), { regime: 'ESPA', notRegime: 'CI' }),
        total('ciOnly', t('totalCiOnly'), { regime: 'CI', notRegime: 'ESPA' }),
      ),
      h('p', { class: 'summary' }, t('totalAll', totals.both + totals.espaOnly + totals.ciOnly)),
      search,
      h('div', { class: 'count-tables' }, cells, gaps),
    );
    container.dataset.asOf = report.asOf;
  }

  // ---- operator lists and one operator ----

  function fieldsOf(designations, regime) {
    const names = designations.filter((d) => d.regime === regime).map((d) => nameOf(d.sector || d.domain));
    return [...new Set(names)].join('、');
  }

  function renderList() {
    const section = $('operators-section');
    const list = state.list;
    section.hidden = !list;
    if (!list) return;
    const { page, cursors, selection } = list;
    $('operators-heading').textContent = selection.title();
    const first = (cursors.length - 1) * PAGE_SIZE + 1;
    const rows = page.edges.map(({ node }) =>
      h(
        'tr',
        {},
        h('td', { class: 'mono' }, node.corporateNumber),
        h('td', {}, h('button', { type: 'button', class: 'link operator-link', dataset: { cn: node.corporateNumber }, onclick: () => openOperator(node.corporateNumber) }, nameOf(node))),
        h('td', {}, fieldsOf(node.designations, 'CI')),
        h('td', {}, fieldsOf(node.designations, 'ESPA')),
      ));
    const pager = h(
      'div',
      { class: 'pager' },
      h('span', { class: 'range' }, page.totalCount === 0 ? t('noOperators') : t('range', first, first + page.edges.length - 1, page.totalCount)),
      h('button', { type: 'button', dataset: { page: 'previous' }, disabled: cursors.length === 1, onclick: () => act((c) => loadList(selection, cursors.slice(0, -1), c)) }, t('previous')),
      h('button', { type: 'button', dataset: { page: 'next' }, disabled: !page.pageInfo.hasNextPage, onclick: () => act((c) => loadList(selection, [...cursors, page.pageInfo.endCursor], c)) }, t('next')),
      h('button', { type: 'button', class: 'download', disabled: page.totalCount === 0, onclick: () => downloadList(selection) }, t('downloadList')),
      h('button', { type: 'button', onclick: () => { state.list = null; state.operator = null; renderList(); renderOperator(); } }, t('close')),
    );
    $('operators').replaceChildren(
      h(
        'table',
        { class: 'operators', dataset: { total: String(page.totalCount) } },
        headRow([t('corporateNumber'), t('name'), t('ci'), t('espa')]),
        h('tbody', {}, rows),
      ),
      pager,
    );
  }

  /** How a designation stands at the page's date (dates compare as ISO text). */
  function designationStatus(d) {
    const cancelled = d.effectiveTo === d.effectiveFrom;
    if (d.status === 'REVOKED' && (cancelled || d.effectiveTo <= state.asOf)) return ['revoked', t('statusRevoked')];
    if (d.effectiveFrom > state.asOf) return ['future', t('statusFuture')];
    if (d.effectiveTo !== null && d.effectiveTo <= state.asOf) return ['ended', t('statusEnded')];
    return ['active', t('statusActive')];
  }

  function renderOperator() {
    const section = $('operator-section');
    const shown = state.operator;
    section.hidden = !shown;
    if (!shown) return;
    const operator = shown.data;
    if (!operator) {
      $('operator').replaceChildren(h('h2', { id: 'operator-heading' }, shown.corporateNumber), h('p', { class: 'notice' }, t('operatorMissing', shown.corporateNumber)));
      return;
    }
    const other = state.lang === 'en' ? operator.nameJa : operator.nameEn;
    const designations = operator.designations.map((d) => {
      const [kind, label] = designationStatus(d);
      return h(
        'tr',
        { class: `designation ${kind}`, dataset: { designation: d.id } },
        h('td', {}, d.regime === 'CI' ? t('ciShort') : t('espaShort')),
        h('td', {}, nameOf(d.sector || d.domain)),
        h('td', {}, d.scopeItem ? nameOf(d.scopeItem) : t('wholeField')),
        h('td', { class: 'mono' }, d.effectiveFrom),
        h('td', { class: 'mono' }, d.effectiveTo || '—'),
        h('td', {}, h('span', { class: `badge status-${kind}` }, label)),
        h('td', {}, nameOf(d.ministry)),
        h('td', {}, d.legalBasis || '—'),
        h('td', {}, d.reference || '—'),
        h('td', {}, d.revocationReason || '—'),
      );
    });
    const obligations = operator.obligations.map((o) =>
      h('li', {}, h('strong', {}, nameOf(o)), `（${o.legalBasis}）`, h('span', { class: o.inForce ? 'badge status-active' : 'badge status-future' }, o.inForce ? t('inForce') : t('notInForce', o.inForceFrom))));
    $('operator').replaceChildren(
      h('h2', { id: 'operator-heading' }, nameOf(operator), other ? h('span', { class: 'other-name' }, other) : null),
      h(
        'p',
        { class: 'meta' },
        `${t('corporateNumber')}：`,
        h('span', { class: 'mono', id: 'operator-number' }, operator.corporateNumber),
        operator.closedOn ? ` · ${t('closedOn', operator.closedOn)}` : null,
        operator.successorCorporateNumber ? ` · ${t('successor', operator.successorCorporateNumber)}` : null,
        ' ',
        h('button', { type: 'button', onclick: () => { state.operator = null; renderOperator(); } }, t('close')),
      ),
      h('h3', {}, t('designations')),
      designations.length === 0
        ? h('p', {}, t('noDesignations'))
        : h(
          'table',
          { class: 'designations', id: 'designations' },
          headRow([t('regime'), t('field'), t('scopeItem'), t('from'), t('to'), t('status', state.asOf), t('designatingMinistry'), t('legalBasis'), t('reference'), t('revocationReason')]),
          h('tbody', {}, designations),
        ),
      designations.length === 0 ? null : h('p', { class: 'footnote' }, t('toNote')),
      h('h3', {}, t('obligations', state.asOf)),
      obligations.length === 0 ? h('p', {}, t('noObligations')) : h('ul', { class: 'obligations' }, obligations),
    );
  }

  // ---- downloads ----

  function saveBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const anchor = h('a', { href: url, download: filename, hidden: true });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    showStatus(t('downloaded', filename));
  }

  /** Downloads one of the server's exports (operator data with the token). */
  async function downloadExport(name) {
    const needsToken = name === 'overlap' || name === 'operators' || name === 'workbook';
    const file = name === 'workbook' ? `${name}.xlsx` : `${name}.csv`;
    if (needsToken && !state.token) {
      state.overlapProblem = { kind: 'needed' };
      renderOverlap();
      $('overlap-notice').scrollIntoView({ block: 'center' });
      return;
    }
    const headers = needsToken ? { Authorization: `Bearer ${state.token}` } : {};
    let response;
    try {
      response = await fetch(`/export/${file}?${new URLSearchParams({ asOf: state.asOf })}`, { headers });
    } catch (error) {
      showStatus(t('downloadFailed', error.message), true);
      return;
    }
    if (response.status === 404 || response.status === 405) {
      showStatus(t('exportMissing'), true);
    } else if (response.status === 401) {
      setTokenProblem(new ApiFailure('UNAUTHENTICATED', await response.text()));
    } else if (response.status === 403) {
      setTokenProblem(new ApiFailure('FORBIDDEN', await response.text()));
    } else if (!response.ok) {
      showStatus(t('downloadFailed', `HTTP ${response.status}`), true);
    } else {
      saveBlob(await response.blob(), file.replace('.', `-${state.asOf}.`));
    }
  }

  /**
   * One CSV field: quoted, and neutralised for spreadsheets by the server's rule
   * (domain/spreadsheet.rs): `'` before a cell that, after any leading `'`s, starts with
   * = + - @ tab or CR and is not a plain number, so that the import can remove it exactly.
   */
  function csvField(value) {
    let text = value === null || value === undefined ? '' : String(value);
    const rest = text.replace(/^'+/, '');
    if (/^[=+\-@\t\r]/.test(rest) && !/^[-+]?\d+(\.\d+)?$/.test(rest)) text = `'${text}`;
    return `"${text.replace(/"/g, '""')}"`;
  }

  /** The whole of the list on screen (every page), as CSV that Excel opens as UTF-8. */
  async function downloadList(selection) {
    const generation = state.generation;
    const rows = [['corporate_number', 'name_ja', 'name_en', 'ci_sectors', 'espa_domains', 'as_of']];
    try {
      let after = null;
      do {
        const variables = { asOf: state.asOf, first: MAX_PAGE_SIZE, after };
        const page = selection.kind === 'gap'
          ? (await graphql(GAP_LIST_QUERY, { ...variables, domain: selection.domain.code }, true)).overlap.domainGaps[0].operators
          : (await graphql(FILTER_LIST_QUERY, { ...variables, filter: { ...selection.filter, asOf: state.asOf } }, true)).operators;
        if (generation !== state.generation) return;
        for (const { node } of page.edges) {
          const codes = (regime) => node.designations.filter((d) => d.regime === regime).map((d) => (d.sector || d.domain).code);
          rows.push([node.corporateNumber, node.nameJa, node.nameEn, [...new Set(codes('CI'))].join(' '), [...new Set(codes('ESPA'))].join(' '), state.asOf]);
        }
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
    } catch (error) {
      reportFailure(error);
      return;
    }
    const csv = `\uFEFF${rows.map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`;
    saveBlob(new Blob([csv], { type: 'text/csv;charset=utf-8' }), `operators-${state.asOf}.csv`);
  }

  // ---- controls ----

  function todayInJapan() {
    return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  }

  /** Keeps the date and language in the address, so that a view can be shared. */
  function rememberView() {
    const params = new URLSearchParams(location.search);
    params.set('asOf', state.asOf);
    params.set('lang', state.lang);
    history.replaceState(null, '', `${location.pathname}?${params}`);
  }

  function setDate(date) {
    if (!DATE_PATTERN.test(date)) {
      showStatus(t('invalidDate'), true);
      return;
    }
    state.asOf = date;
    $('as-of').value = date;
    rememberView();
    loadAll();
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.title = t('pageTitle');
    for (const element of document.querySelectorAll('[data-i18n]')) element.textContent = t(element.dataset.i18n);
    $('lang-ja').setAttribute('aria-pressed', String(state.lang === 'ja'));
    $('lang-en').setAttribute('aria-pressed', String(state.lang === 'en'));
  }

  function setLanguage(lang) {
    state.lang = lang;
    localStorage.setItem(LANG_KEY, lang);
    rememberView();
    applyLanguage();
    renderScope();
    renderOverlap();
    renderList();
    renderOperator();
  }

  function useToken(event) {
    event.preventDefault();
    const input = $('token-input');
    const token = input.value.trim();
    input.value = '';
    if (!token) {
      state.overlapProblem = { kind: 'empty' };
      renderOverlap();
      return;
    }
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    state.overlapProblem = null;
    act((current) => loadOverlap(current));
  }

  function forgetToken() {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.overlap = null;
    state.overlapProblem = { kind: 'needed' };
    state.list = null;
    state.operator = null;
    renderOverlap();
    renderList();
    renderOperator();
  }

  function start() {
    const params = new URLSearchParams(location.search);
    const lang = params.get('lang') || localStorage.getItem(LANG_KEY);
    state.lang = lang === 'en' ? 'en' : 'ja';
    applyLanguage();
    $('as-of').addEventListener('change', (event) => setDate(event.target.value));
    $('today').addEventListener('click', () => setDate(todayInJapan()));
    $('lang-ja').addEventListener('click', () => setLanguage('ja'));
    $('lang-en').addEventListener('click', () => setLanguage('en'));
    $('token-form').addEventListener('submit', useToken);
    $('token-clear').addEventListener('click', forgetToken);
    for (const button of document.querySelectorAll('button[data-export]')) {
      button.addEventListener('click', () => downloadExport(button.dataset.export));
    }
    const asked = params.get('asOf');
    setDate(asked && DATE_PATTERN.test(asked) ? asked : todayInJapan());
  }

  start();
})();
